//go:build cluster

// Package clustertest runs posimport as it is deployed, all on loopback, and breaks it the
// way a cluster and Kubernetes do: config, auth and balance as their own binaries behind
// stable addresses (a Service's), import-worker processes, three nats-server processes
// clustered with JetStream on file storage and the jobs stream replicated three times (built
// from the nats-server module go.mod pins), PostgreSQL and the Lightspeed simulator. Each case
// runs a backfill plus a nightly-sized import while it kills stream and meta leaders, rolls
// every deployment, scales the workers out and in, or cuts a NATS server off, and ends with
// the fault suite's verdict (faulttest). The tests are behind the build tag "cluster":
// `make test` runs the small size, `make test-cluster` the full one (CLUSTER_FULL=1).
package clustertest
