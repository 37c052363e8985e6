package authn

import (
	"context"
	"errors"
	"sync"
	"time"

	"google.golang.org/grpc/credentials"
)

// ServiceCredentials attach a service's own token to outgoing RPCs, re-signing it before
// it expires. Use with grpc.WithPerRPCCredentials.
type ServiceCredentials struct {
	signer *Signer

	mu      sync.Mutex
	token   string
	expires time.Time
}

var _ credentials.PerRPCCredentials = (*ServiceCredentials)(nil)

// serviceTokenTTL is the lifetime of a service's own tokens, well inside MaxTokenLifetime.
const serviceTokenTTL = 10 * time.Minute

// NewServiceCredentials returns credentials for the service whose signer s is (NewSigner): its
// tokens carry the identity its key is bound to.
func NewServiceCredentials(s *Signer) (*ServiceCredentials, error) {
	if s.Service() == "" {
		return nil, errors.New("service credentials need a service's signer")
	}
	return &ServiceCredentials{signer: s}, nil
}

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (c *ServiceCredentials) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.signer.now()
	if c.token == "" || now.After(c.expires.Add(-2*time.Minute)) {
		t, err := c.signer.SignService(serviceTokenTTL)
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
