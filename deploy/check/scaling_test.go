package check_test

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/posimport/posimport/deploy/internal/cnpgv1"
)

// TestScaledObject: KEDA scales import-worker on the consumer the worker really uses, one
// replica per WORKER_SLOTS jobs, never to zero (the scheduler and reconciler live there), and
// not beyond what the consumer's MaxAckPending lets run at once; the HPA owns the replicas.
func TestScaledObject(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	jobqueue := filepath.Join(root, "services", "import-worker", "internal", "jobqueue")
	worker := filepath.Join(root, "services", "import-worker", "internal", "worker")
	for name := range overlays {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := overlay(t, name)
			so := named[kedav1alpha1.ScaledObject](t, r, "import-worker")
			d := named[appsv1.Deployment](t, r, so.Spec.ScaleTargetRef.Name)
			if d.Spec.Replicas != nil {
				t.Errorf("deployment %s sets replicas; the ScaledObject's HPA owns them", d.Name)
			}
			e := env(t, r, d.Spec.Template.Spec.Containers[0])
			// A setting the manifests leave unset takes its default, a named constant of the
			// package that uses it (importservice names it as its own).
			setting := func(k, dir, def string) int {
				v, ok := e[k]
				if !ok {
					v = goConst(t, dir, def)
				}
				n, err := strconv.Atoi(v)
				if err != nil {
					t.Fatalf("%s=%q: %v", k, v, err)
				}
				return n
			}
			slots := setting("WORKER_SLOTS", worker, "DefaultSlots")
			maxAckPending := setting("JOB_MAX_ACK_PENDING", jobqueue, "DefaultMaxAckPending")
			minR, maxR := so.Spec.MinReplicaCount, so.Spec.MaxReplicaCount
			if minR == nil || *minR < 1 || maxR == nil || *maxR < *minR {
				t.Fatalf("replicas min %v max %v: want 1 <= min <= max", minR, maxR)
			}
			if int(*maxR)*slots > maxAckPending {
				t.Errorf("max %d replicas x WORKER_SLOTS %d > JOB_MAX_ACK_PENDING %d: the extra replicas would idle", *maxR, slots, maxAckPending)
			}
			if len(so.Spec.Triggers) != 1 || so.Spec.Triggers[0].Type != "nats-jetstream" {
				t.Fatalf("triggers %+v: want one nats-jetstream trigger", so.Spec.Triggers)
			}
			stream := e["JOBS_STREAM_PREFIX"] + goConst(t, jobqueue, "StreamName")
			got := so.Spec.Triggers[0].Metadata
			want := map[string]string{
				"natsServerMonitoringEndpoint": "nats-headless.nats.svc.cluster.local:8222",
				"account":                      "$G",
				"stream":                       stream,
				"consumer":                     goConst(t, jobqueue, "ConsumerName"),
				"lagThreshold":                 strconv.Itoa(slots),
				"activationLagThreshold":       "0",
				"useHttps":                     "false",
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("trigger metadata (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDatabaseRoles: one login role per service, whose password Secret is the one the service
// reads as PGUSER/PGPASSWORD, with a connection limit that fits every pod's pool at the same
// time (replicas plus the rolling update's surge, or KEDA's maximum), and limits that fit
// max_connections.
func TestDatabaseRoles(t *testing.T) {
	t.Parallel()
	for name := range overlays {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := overlay(t, name)
			c := named[cnpgv1.Cluster](t, r, "posimport-db")
			if c.Spec.Managed == nil {
				t.Fatal("no managed roles")
			}
			limits := map[string]int64{}
			var total int64
			for _, role := range c.Spec.Managed.Roles {
				if !role.Login || role.Superuser || role.BypassRLS || role.CreateRole || role.PasswordSecret == nil {
					t.Errorf("role %s: want a plain login role with a password Secret", role.Name)
					continue
				}
				limits[role.PasswordSecret.Name] = role.ConnectionLimit
				total += role.ConnectionLimit
			}
			maxConns, err := strconv.ParseInt(c.Spec.PostgresConfiguration.Parameters["max_connections"], 10, 64)
			if err != nil || total > maxConns-10 {
				t.Errorf("roles may open %d connections; max_connections %q must exceed that by 10 (superuser and operator)", total, c.Spec.PostgresConfiguration.Parameters["max_connections"])
			}
			for _, d := range all[appsv1.Deployment](r) {
				e := env(t, r, d.Spec.Template.Spec.Containers[0])
				secret := e["PGPASSWORD"][len("secret:"):]
				secret = secret[:len(secret)-len("/password")]
				if want := "posimport-" + d.Name + "-db"; secret != want || e["PGUSER"] != "secret:"+want+"/username" {
					t.Errorf("%s: PGUSER %s PGPASSWORD %s: want both from %s", d.Name, e["PGUSER"], e["PGPASSWORD"], want)
				}
				limit, ok := limits[secret]
				if !ok {
					t.Errorf("%s: no managed role uses Secret %s", d.Name, secret)
					continue
				}
				pods := maxPods(t, r, d)
				pool, err := strconv.Atoi(e["DB_MAX_CONNS"])
				if err != nil {
					t.Fatalf("%s: DB_MAX_CONNS %q: %v", d.Name, e["DB_MAX_CONNS"], err)
				}
				if int64(pods*pool) > limit {
					t.Errorf("%s: %d pods x DB_MAX_CONNS %d > the role's connectionLimit %d", d.Name, pods, pool, limit)
				}
			}
		})
	}
}

// maxPods is how many pods of a Deployment can run at once.
func maxPods(t *testing.T, r *rendered, d *appsv1.Deployment) int {
	t.Helper()
	n := 1
	if d.Spec.Replicas != nil {
		n = int(*d.Spec.Replicas)
	}
	for _, so := range all[kedav1alpha1.ScaledObject](r) {
		if so.Spec.ScaleTargetRef.Name == d.Name && so.Spec.MaxReplicaCount != nil {
			n = int(*so.Spec.MaxReplicaCount)
		}
	}
	surge := intstr.FromString("25%")
	if ru := d.Spec.Strategy.RollingUpdate; ru != nil && ru.MaxSurge != nil {
		surge = *ru.MaxSurge
	}
	s, err := intstr.GetScaledValueFromIntOrPercent(&surge, n, true)
	if err != nil {
		t.Fatal(err)
	}
	return n + s
}

// natsValues is the part of the NATS chart's values posimport sets; decoding is strict, so a
// misspelt key fails here instead of being ignored by Helm.
type natsValues struct {
	Config struct {
		Cluster struct {
			Enabled  bool `json:"enabled"`
			Replicas int  `json:"replicas,omitempty"`
		} `json:"cluster"`
		JetStream struct {
			Enabled   bool `json:"enabled"`
			FileStore struct {
				Enabled bool   `json:"enabled"`
				Dir     string `json:"dir"`
				PVC     struct {
					Enabled bool   `json:"enabled"`
					Size    string `json:"size"`
				} `json:"pvc"`
			} `json:"fileStore"`
			MemoryStore struct {
				Enabled bool `json:"enabled"`
			} `json:"memoryStore"`
			Merge map[string]string `json:"merge"`
		} `json:"jetstream"`
		Monitor struct {
			Enabled bool `json:"enabled"`
			Port    int  `json:"port"`
		} `json:"monitor"`
	} `json:"config"`
	Container struct {
		Image struct {
			Tag string `json:"tag"`
		} `json:"image"`
	} `json:"container"`
	PodTemplate struct {
		TopologySpreadConstraints map[string]struct {
			MaxSkew           int    `json:"maxSkew"`
			WhenUnsatisfiable string `json:"whenUnsatisfiable"`
		} `json:"topologySpreadConstraints"`
	} `json:"podTemplate"`
	PodDisruptionBudget struct {
		Enabled bool `json:"enabled"`
	} `json:"podDisruptionBudget"`
	PromExporter struct {
		Enabled    bool `json:"enabled"`
		PodMonitor struct {
			Enabled bool `json:"enabled"`
		} `json:"podMonitor"`
	} `json:"promExporter"`
}

// TestNATSValues: JetStream on fsynced file storage with the exporter on, in both value files;
// production is a three-server cluster and its overlay replicates the jobs stream on all three,
// dev is one server with an unreplicated stream.
func TestNATSValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file, overlay string
		servers       int
	}{
		{"values.yaml", "production", 3},
		{"values-dev.yaml", "dev", 1},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			b, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "nats", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			raw, err := yaml.YAMLToJSON(b)
			if err != nil {
				t.Fatal(err)
			}
			var v natsValues
			if err := decodeStrict(raw, &v); err != nil {
				t.Fatal(err)
			}
			servers := 1
			if v.Config.Cluster.Enabled {
				servers = v.Config.Cluster.Replicas
			}
			js := v.Config.JetStream
			type summary struct {
				Servers                               int
				FileStore, PVC, MemoryStore, Exporter bool
				SyncInterval                          string
				MonitorPort                           int
			}
			got := summary{servers, js.Enabled && js.FileStore.Enabled, js.FileStore.PVC.Enabled, js.MemoryStore.Enabled,
				v.PromExporter.Enabled && v.PromExporter.PodMonitor.Enabled, js.Merge["sync_interval"], v.Config.Monitor.Port}
			want := summary{tc.servers, true, true, false, true, "always", 8222}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("NATS values (-want +got):\n%s", diff)
			}
			d := named[appsv1.Deployment](t, overlay(t, tc.overlay), "import-worker")
			replicas := env(t, overlay(t, tc.overlay), d.Spec.Template.Spec.Containers[0])["JOBS_REPLICAS"]
			if replicas == "" {
				replicas = "1"
			}
			if replicas != strconv.Itoa(servers) {
				t.Errorf("overlay %s: JOBS_REPLICAS %s, want %d (one replica per NATS server)", tc.overlay, replicas, servers)
			}
		})
	}
}
