// Command import-worker runs the import-worker service on its own: the ImportService API, the
// JetStream job consumer, the reconciler and the nightly scheduler (IMPORT_API, IMPORT_WORKER
// and IMPORT_SCHEDULER choose which).
package main

import (
	"github.com/posimport/posimport/pkg/platform/app"
	"github.com/posimport/posimport/services/import-worker/importservice"
)

func main() { app.Exit(importservice.RunProcess()) }
