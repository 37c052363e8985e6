// Package configcache gives the balance service what it needs of a client's configuration
// (field definitions, departments with their registers and effective time zones, settings),
// read from the config service over gRPC with the balance service's own identity and kept for
// a short while, so the read path does not pay a second RPC per request. The balance service
// never reads the config schema.
package configcache

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/posimport/posimport/pkg/platform/apierr"
	posimportv1 "github.com/posimport/posimport/proto/posimport/v1"
)

// Client is one client's configuration as the balance service uses it.
type Client struct {
	Settings    *posimportv1.ClientSettings
	Departments map[string]*Department
	// Fields in field id order.
	Fields    []*posimportv1.BalanceField
	FieldByID map[int64]*posimportv1.BalanceField
}

// Department is a department with its time zone loaded.
type Department struct {
	*posimportv1.Department
	Location *time.Location
	// Registers holds the department's register ids; empty when it is one unit.
	Registers map[string]bool
}

// Cache reads client configurations and keeps each for TTL.
type Cache struct {
	config posimportv1.ConfigServiceClient
	ttl    time.Duration
	now    func() time.Time

	mu      sync.Mutex
	entries map[string]entry
	flight  singleflight.Group
}

// callTimeout bounds one read of the config service.
const callTimeout = 10 * time.Second

type entry struct {
	client  *Client
	fetched time.Time
}

// New returns a cache over the config service; ttl ≤ 0 disables caching.
func New(config posimportv1.ConfigServiceClient, ttl time.Duration) *Cache {
	return &Cache{config: config, ttl: ttl, now: time.Now, entries: map[string]entry{}}
}

// Get returns a client's configuration, from the cache while it is fresh.
func (c *Cache) Get(ctx context.Context, clientID string) (*Client, error) {
	c.mu.Lock()
	e, ok := c.entries[clientID]
	c.mu.Unlock()
	if ok && c.now().Sub(e.fetched) < c.ttl {
		return e.client, nil
	}
	return c.Refresh(ctx, clientID)
}

// Refresh reads a client's configuration from the config service now; concurrent callers for
// the same client share one call.
func (c *Cache) Refresh(ctx context.Context, clientID string) (*Client, error) {
	v, err, _ := c.flight.Do(clientID, func() (any, error) {
		// The call is shared: one caller giving up must not fail the others.
		callCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), callTimeout)
		defer cancel()
		resp, err := c.config.GetClientConfig(callCtx, &posimportv1.GetClientConfigRequest{ClientId: clientID})
		if err != nil {
			return nil, apierr.Unavailable(err, "config service: reading the client's configuration")
		}
		cl, err := newClient(resp)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		c.entries[clientID] = entry{client: cl, fetched: c.now()}
		c.mu.Unlock()
		return cl, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*Client), nil
}

// Department returns a department of the client, refreshing the configuration once when the
// cached one does not know it (it may have been added a moment ago). NotFound when it does not
// exist.
func (c *Cache) Department(ctx context.Context, clientID, departmentID string) (*Client, *Department, error) {
	cl, err := c.Get(ctx, clientID)
	if err != nil {
		return nil, nil, err
	}
	if d, ok := cl.Departments[departmentID]; ok {
		return cl, d, nil
	}
	if cl, err = c.Refresh(ctx, clientID); err != nil {
		return nil, nil, err
	}
	if d, ok := cl.Departments[departmentID]; ok {
		return cl, d, nil
	}
	return nil, nil, apierr.NotFound("department %s not found", departmentID)
}

func newClient(resp *posimportv1.GetClientConfigResponse) (*Client, error) {
	cl := &Client{
		Settings:    resp.GetSettings(),
		Departments: make(map[string]*Department, len(resp.GetDepartments())),
		Fields:      resp.GetFields(),
		FieldByID:   make(map[int64]*posimportv1.BalanceField, len(resp.GetFields())),
	}
	for _, f := range resp.GetFields() {
		cl.FieldByID[f.GetFieldId()] = f
	}
	for _, d := range resp.GetDepartments() {
		loc, err := time.LoadLocation(d.GetEffectiveTimeZone())
		if err != nil {
			return nil, fmt.Errorf("department %s: time zone %q: %w", d.GetDepartmentId(), d.GetEffectiveTimeZone(), err)
		}
		regs := make(map[string]bool, len(d.GetPosTerminalNumbers()))
		for _, r := range d.GetPosTerminalNumbers() {
			regs[r] = true
		}
		cl.Departments[d.GetDepartmentId()] = &Department{Department: d, Location: loc, Registers: regs}
	}
	return cl, nil
}
