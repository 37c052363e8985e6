package check_test

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
)

// recoveryBound is how long a killed import-worker's jobs may wait for another replica; the
// cluster test (services/import-worker/internal/clustertest) measures kill to resumption
// against it.
const recoveryBound = 30 * time.Second

// TestLeaseAndAckWaitFitRecovery: the import-worker sets its lease, ack wait and heartbeat
// explicitly, and they fit what the tests measured: ack wait equal to the lease (a dead
// worker's message comes back just as its lease ends), a heartbeat at most a third of it (two
// beats may be lost), and the lease plus the ~1 s measured on top of it within recoveryBound.
func TestLeaseAndAckWaitFitRecovery(t *testing.T) {
	for _, name := range []string{"dev", "production"} {
		t.Run(name, func(t *testing.T) {
			r := overlay(t, name)
			d := named[appsv1.Deployment](t, r, "import-worker")
			e := env(t, r, d.Spec.Template.Spec.Containers[0])
			get := func(k string) time.Duration {
				v, ok := e[k]
				if !ok {
					t.Fatalf("%s is not set: the recovery figures depend on it", k)
				}
				d, err := time.ParseDuration(v)
				if err != nil || d <= 0 {
					t.Fatalf("%s=%q: want a positive duration", k, v)
				}
				return d
			}
			lease, ack, beat := get("JOB_LEASE_TTL"), get("JOB_ACK_WAIT"), get("JOB_HEARTBEAT_INTERVAL")
			if ack != lease {
				t.Errorf("JOB_ACK_WAIT %v differs from JOB_LEASE_TTL %v: a longer one makes a dead worker's jobs wait, a shorter one only adds redeliveries", ack, lease)
			}
			if 3*beat > min(lease, ack) {
				t.Errorf("JOB_HEARTBEAT_INTERVAL %v is over a third of %v", beat, min(lease, ack))
			}
			if lease+time.Second > recoveryBound {
				t.Errorf("JOB_LEASE_TTL %v: a killed worker's jobs would wait past %v", lease, recoveryBound)
			}
		})
	}
}
