//go:build !linux

package main

import "time"

func preciseTimers() {}

func sleepUntil(t time.Time) { time.Sleep(time.Until(t)) }
