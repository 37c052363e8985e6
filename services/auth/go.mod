module github.com/posimport/posimport/services/auth

go 1.26.8

require (
	github.com/posimport/posimport/pkg v0.0.0
	github.com/posimport/posimport/proto v0.0.0
)

replace (
	github.com/posimport/posimport/pkg => ../../pkg
	github.com/posimport/posimport/proto => ../../proto
)
