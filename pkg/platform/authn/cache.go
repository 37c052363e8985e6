package authn

import (
	"sync"
	"time"
)

// maxCachedTokens bounds the verified-token cache; at 32-byte keys it stays well under 2 MB.
const maxCachedTokens = 10000

type cachedToken struct {
	p   Principal
	exp time.Time
}

// verifiedCache remembers tokens that verified, by their SHA-256, until they expire (with
// ClockSkew, the parser's leeway, so a cached token expires exactly when a fresh verification
// would refuse it). Only
// successes are kept: a refused token is verified again each time, so nothing an attacker
// sends can fill the cache.
type verifiedCache struct {
	mu sync.Mutex
	m  map[[32]byte]cachedToken
}

func (c *verifiedCache) get(key [32]byte, now time.Time) (Principal, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok {
		return Principal{}, false
	}
	if !now.Before(e.exp.Add(ClockSkew)) {
		delete(c.m, key)
		return Principal{}, false
	}
	return e.p, true
}

func (c *verifiedCache) put(key [32]byte, p Principal, exp time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[[32]byte]cachedToken)
	}
	if len(c.m) >= maxCachedTokens {
		// Map iteration order is random: dropping the first entries is random eviction,
		// which is enough for a cache whose entries all expire within the hour.
		n := 0
		for k := range c.m {
			delete(c.m, k)
			if n++; n >= maxCachedTokens/10 {
				break
			}
		}
	}
	c.m[key] = cachedToken{p: p, exp: exp}
}
