// Package check is deploy-check: its tests render every kustomize overlay under deploy/k8s,
// decode each object strictly into its Kubernetes, KEDA, prometheus-operator or CloudNativePG
// type, and check the rendered whole against the repository: images built by a Dockerfile,
// environment variables the services read, secrets by reference only, the network flows of
// DESIGN.md §2, KEDA against the job queue, database connection budgets, alert rules and the
// dashboard against the metrics the services export, and the NATS Helm values.
package check
