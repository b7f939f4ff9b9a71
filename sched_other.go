//go:build !linux

package main

import "errors"

func setScheduling(cpuScheduling) error {
	return errors.New("supported on Linux only")
}

func currentPolicy() string { return "unknown" }
