package importservice_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/posimport/posimport/pkg/platform/envconfig"
	"github.com/posimport/posimport/pkg/platform/logging"
	"github.com/posimport/posimport/pkg/platform/natstest"
	"github.com/posimport/posimport/services/import-worker/importservice"
	"github.com/posimport/posimport/services/import-worker/internal/jobqueue"
)

// TestConfigFromEnvironment: JOBS_REPLICAS, TOKEN_REUSE_MARGIN, BALANCE_WRITE_TIMEOUT,
// JOB_LEASE_TTL, JOB_ACK_WAIT, JOB_HEARTBEAT_INTERVAL and SCHEDULE_LOOKBACK_DAYS are read over their defaults, as main
// loads them.
func TestConfigFromEnvironment(t *testing.T) {
	t.Parallel()
	type got struct {
		Replicas                  int
		Margin                    time.Duration
		Write                     time.Duration
		Lease, AckWait, Heartbeat time.Duration
		Lookback                  int
	}
	for _, tc := range []struct {
		name    string
		environ map[string]string
		want    got
	}{
		{name: "defaults", environ: map[string]string{}, want: got{Replicas: 1, Margin: 10 * time.Second, Write: 30 * time.Second,
			Lease: 15 * time.Second, AckWait: 15 * time.Second, Lookback: 7}},
		{name: "set", environ: map[string]string{"JOBS_REPLICAS": "3", "TOKEN_REUSE_MARGIN": "20s", "BALANCE_WRITE_TIMEOUT": "2m",
			"JOB_LEASE_TTL": "30s", "JOB_ACK_WAIT": "20s", "JOB_HEARTBEAT_INTERVAL": "4s", "SCHEDULE_LOOKBACK_DAYS": "10"},
			want: got{Replicas: 3, Margin: 20 * time.Second, Write: 2 * time.Minute, Lease: 30 * time.Second, AckWait: 20 * time.Second,
				Heartbeat: 4 * time.Second, Lookback: 10}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := importservice.Config{}.WithDefaults()
			if err := envconfig.LoadFrom(&cfg, tc.environ); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got{Replicas: cfg.JobsReplicas, Margin: cfg.TokenReuseMargin, Write: cfg.BalanceWriteTimeout,
				Lease: cfg.LeaseTTL, AckWait: cfg.AckWait, Heartbeat: cfg.HeartbeatInterval, Lookback: cfg.ScheduleLookbackDays}); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

// validConfig is a configuration New accepts, for a process running no loop.
func validConfig(prefix string) importservice.Config {
	return importservice.Config{StreamPrefix: prefix, ScheduleTime: "02:00", ScheduleZone: "Europe/Copenhagen"}
}

// TestNewRefusesBadConfig: each out-of-range setting is refused, naming its variable.
func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		adjust func(*importservice.Config)
		want   string
	}{
		{name: "no replicas", adjust: func(c *importservice.Config) { c.JobsReplicas = -1 }, want: "JOBS_REPLICAS"},
		{name: "too many replicas", adjust: func(c *importservice.Config) { c.JobsReplicas = 6 }, want: "JOBS_REPLICAS"},
		{name: "negative margin", adjust: func(c *importservice.Config) { c.TokenReuseMargin = -time.Second }, want: "TOKEN_REUSE_MARGIN"},
		{name: "margin too long", adjust: func(c *importservice.Config) { c.TokenReuseMargin = 11 * time.Minute }, want: "TOKEN_REUSE_MARGIN"},
		// Negative counts and durations used to fall back to the default silently.
		{name: "negative slots", adjust: func(c *importservice.Config) { c.WorkerSlots = -1 }, want: "WORKER_SLOTS"},
		{name: "negative lease", adjust: func(c *importservice.Config) { c.LeaseTTL = -time.Second }, want: "JOB_LEASE_TTL"},
		{name: "negative ack wait", adjust: func(c *importservice.Config) { c.AckWait = -time.Second }, want: "JOB_ACK_WAIT"},
		{name: "negative attempts", adjust: func(c *importservice.Config) { c.MaxAttempts = -1 }, want: "JOB_MAX_ATTEMPTS"},
		{name: "lookback too short", adjust: func(c *importservice.Config) { c.ScheduleLookbackDays = 1 }, want: "SCHEDULE_LOOKBACK_DAYS"},
		{name: "lookback too long", adjust: func(c *importservice.Config) { c.ScheduleLookbackDays = 32 }, want: "SCHEDULE_LOOKBACK_DAYS"},
		{name: "bad zone", adjust: func(c *importservice.Config) { c.ScheduleZone = "Mars/Olympus" }, want: "SCHEDULE_TIME_ZONE"},
		{name: "bad time", adjust: func(c *importservice.Config) { c.ScheduleTime = "25:00" }, want: "SCHEDULE_TIME"},
		{name: "negative heartbeat", adjust: func(c *importservice.Config) { c.HeartbeatInterval = -time.Second }, want: "JOB_HEARTBEAT_INTERVAL"},
		{name: "heartbeat longer than half the ack wait", adjust: func(c *importservice.Config) {
			c.LeaseTTL, c.AckWait, c.HeartbeatInterval = 15*time.Second, 10*time.Second, 6*time.Second
		}, want: "JOB_HEARTBEAT_INTERVAL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := validConfig("")
			tc.adjust(&cfg)
			_, err := importservice.New(cfg, importservice.Deps{Logger: logging.Discard()})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New: %v, want an error naming %s", err, tc.want)
			}
		})
	}
}

// TestJobsReplicasReachTheStream: the stream is created with JOBS_REPLICAS replicas (a single
// NATS server refuses more than one, which shows the setting reached it too).
func TestJobsReplicasReachTheStream(t *testing.T) {
	t.Parallel()
	for _, replicas := range []int{1, 3} {
		t.Run(fmt.Sprintf("R%d", replicas), func(t *testing.T) {
			t.Parallel()
			nc := natstest.Conn(t)
			cfg := validConfig(natstest.Prefix(t))
			cfg.JobsReplicas = replicas
			svc, err := importservice.New(cfg, importservice.Deps{JS: nc.JS, Logger: logging.Discard()})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			runErr := svc.Run(ctx) // no loop enabled: returns once the stream is set up
			s, err := nc.JS.Stream(context.Background(), cfg.StreamPrefix+jobqueue.StreamName)
			if err == nil {
				t.Cleanup(func() { _ = nc.JS.DeleteStream(context.Background(), cfg.StreamPrefix+jobqueue.StreamName) })
				if got := s.CachedInfo().Config.Replicas; got != replicas {
					t.Errorf("stream replicas = %d, want %d", got, replicas)
				}
				return
			}
			if replicas == 1 || runErr == nil || !strings.Contains(runErr.Error(), "replicas") {
				t.Errorf("no stream (%v); run: %v", err, runErr)
			}
		})
	}
}

// TestConfigDefaults: a zero Config (one built in code) takes the defaults an unset
// environment gives (the lease and ack wait short, for recovery in seconds).
func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	want := importservice.Config{
		ConfigAddr: "config:9090", AuthAddr: "auth:9090", BalanceAddr: "balance:9090",
		NATSStoreDir: "/var/lib/posimport/nats", WorkerSlots: 4,
		LightspeedAPIURL: "https://api.lightspeedapp.com", LightspeedRestaurantAPIURL: "https://api.lsk.lightspeed.app",
		LightspeedBurstWindow: time.Second, RateHeadroom: 2,
		ScheduleTime: "02:00", ScheduleZone: "Europe/Copenhagen", ScheduleInterval: 30 * time.Second, ScheduleLookbackDays: 7,
		LeaseTTL: 15 * time.Second, AckWait: 15 * time.Second, MaxAckPending: 64, MaxAttempts: 10, MaxRunningPerClient: 2,
		MaxQueuedPerClient: 10000,
		JobMaxDays:         31, JobGroupMaxJobs: 50, RetryBase: 2 * time.Second, ReconcileInterval: 30 * time.Second, ReconcileGrace: time.Minute,
		JobsReplicas: 1, TokenReuseMargin: 10 * time.Second, BalanceWriteTimeout: 30 * time.Second,
	}
	// The common settings (app.Config) keep their own defaults.
	common := cmpopts.IgnoreFields(importservice.Config{}, "Config")
	if diff := cmp.Diff(want, importservice.Config{}.WithDefaults(), common); diff != "" {
		t.Errorf("zero Config with defaults (-want +got):\n%s", diff)
	}
	var fromEnv importservice.Config
	fromEnv = fromEnv.WithDefaults()
	if err := envconfig.LoadFrom(&fromEnv, map[string]string{}); err != nil {
		t.Fatal(err)
	}
	want.API, want.Worker, want.Scheduler = true, true, true // a process runs every part unless told otherwise
	if diff := cmp.Diff(want, fromEnv, common); diff != "" {
		t.Errorf("empty environment (-want +got):\n%s", diff)
	}
}
