package api

import (
	"errors"

	"github.com/posimport/posimport/pkg/platform/apierr"
	"github.com/posimport/posimport/services/balance/internal/store"
)

// storeError is where the store's errors become the API's. A stale fencing token is Aborted
// with the ErrorInfo reason STALE_FENCING_TOKEN: the import-worker gives a job up on that
// reason alone, never on a code other refusals share (a constraint violation is
// FailedPrecondition, a serialization failure Aborted without a reason).
func storeError(err error) error {
	var stale *store.StaleFenceError
	if errors.As(err, &stale) {
		return apierr.AbortedFor(apierr.ReasonStaleFencingToken, "%v", stale)
	}
	return err
}
