package api

import (
	"errors"

	"github.com/posimport/posimport/pkg/platform/apierr"
	"github.com/posimport/posimport/services/balance/internal/store"
)

// apiError is the one place that turns the store's errors into the API's.
//   - A stale fencing token is Aborted with the ErrorInfo reason STALE_FENCING_TOKEN: the
//     import-worker gives a job up on that reason alone, never on a code other refusals share.
//   - A conflict the day locks should have prevented, or a serialization failure, is Aborted
//     without a reason: the caller retries and reads the days again.
//   - Anything else is returned as is and ends as Internal.
func apiError(err error) error {
	var stale *store.StaleFenceError
	switch {
	case errors.As(err, &stale):
		return apierr.AbortedFor(apierr.ReasonStaleFencingToken, "%v", stale)
	case errors.Is(err, store.ErrNotFound):
		return apierr.NotFound("%v", store.ErrNotFound)
	case errors.Is(err, store.ErrConflict):
		return apierr.Aborted("%v", store.ErrConflict)
	case errors.Is(err, store.ErrConcurrentUpdate):
		return apierr.Aborted("%v", store.ErrConcurrentUpdate)
	case errors.Is(err, store.ErrNotPending):
		return apierr.FailedPrecondition("%v", store.ErrNotPending)
	}
	return err
}

// writeError is apiError for the write handlers, which also count refused stale writes.
func (s *Server) writeError(err error) error {
	var stale *store.StaleFenceError
	if errors.As(err, &stale) {
		s.metrics.Stale()
	}
	return apiError(err)
}
