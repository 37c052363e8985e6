package authn

import (
	"context"
	"sync"
	"time"

	"google.golang.org/grpc/credentials"
)

// ServiceCredentials attach this service's own token to outgoing RPCs, re-signing it before
// it expires. Use with grpc.WithPerRPCCredentials.
type ServiceCredentials struct {
	signer  *Signer
	subject string

	mu      sync.Mutex
	token   string
	expires time.Time
}

var _ credentials.PerRPCCredentials = (*ServiceCredentials)(nil)

const serviceTokenTTL = 10 * time.Minute

// NewServiceCredentials returns credentials for the service named subject (e.g. "import-worker").
func NewServiceCredentials(s *Signer, subject string) *ServiceCredentials {
	return &ServiceCredentials{signer: s, subject: "service:" + subject}
}

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (c *ServiceCredentials) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.signer.now()
	if c.token == "" || now.After(c.expires.Add(-2*time.Minute)) {
		t, err := c.signer.Sign(c.subject, RoleService, []string{AllClients}, serviceTokenTTL)
		if err != nil {
			return nil, err
		}
		c.token, c.expires = t, now.Add(serviceTokenTTL)
	}
	return map[string]string{"authorization": "Bearer " + c.token}, nil
}

// RequireTransportSecurity implements credentials.PerRPCCredentials. Service traffic stays
// inside the cluster (or the process); TLS, where wanted, is the mesh's job.
func (c *ServiceCredentials) RequireTransportSecurity() bool { return false }
