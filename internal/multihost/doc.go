// Package multihost holds a test that runs the lab across hosts: the
// network program and five middlewares, each in a network namespace of its
// own with its own address, configured only by command-line flags.
package multihost
