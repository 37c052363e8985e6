package authn

import "time"

// SetVerifierClock replaces a verifier's clock in tests.
func SetVerifierClock(v *Verifier, now func() time.Time) { v.now = now }
