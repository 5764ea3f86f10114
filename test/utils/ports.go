package utils

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

var (
	portsMu sync.Mutex
	// portsGiven are the ports FreeAddress handed out in this process, so
	// that two servers of one test never get the same one.
	portsGiven = map[int]bool{}
)

// Ports below the kernel's ephemeral range are never given to an outgoing
// connection or to a listener on port 0, so a port picked there stays free
// between FreeAddress and the bind of the server it is for, even when that
// bind comes tens of seconds later (the e2e manager starts after the whole
// stack). A port from the ephemeral range could be taken in between by any
// client's local end, which happened once in the e2e test.
const (
	// lowestPort is the lowest port FreeAddress picks.
	lowestPort = 20000
	// ephemeralRangeFile holds the kernel's ephemeral range on Linux.
	ephemeralRangeFile = "/proc/sys/net/ipv4/ip_local_port_range"
)

// FreeAddress returns "127.0.0.1:PORT" with a port that is free now, that
// this process has not handed out before and, where the kernel says which
// ports it hands out by itself, outside of them.
func FreeAddress() (string, error) {
	portsMu.Lock()
	defer portsMu.Unlock()
	if first, ok := ephemeralStart(); ok && first > lowestPort+1000 {
		for range 200 {
			port := lowestPort + rand.IntN(first-lowestPort)
			if portsGiven[port] {
				continue
			}
			addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
			lis, err := net.Listen("tcp", addr)
			if err != nil {
				continue // taken
			}
			if err := lis.Close(); err != nil {
				return "", fmt.Errorf("finding a free port on 127.0.0.1: %w", err)
			}
			portsGiven[port] = true
			return addr, nil
		}
	}
	// No known range, or every port tried was taken: one the kernel picks.
	for range 50 {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", fmt.Errorf("finding a free port on 127.0.0.1: %w", err)
		}
		port := lis.Addr().(*net.TCPAddr).Port
		if err := lis.Close(); err != nil {
			return "", fmt.Errorf("finding a free port on 127.0.0.1: %w", err)
		}
		if !portsGiven[port] {
			portsGiven[port] = true
			return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), nil
		}
	}
	return "", errors.New("finding a free port on 127.0.0.1: every port offered was handed out already")
}

// ephemeralStart is the first port of the kernel's ephemeral range.
func ephemeralStart() (int, bool) {
	b, err := os.ReadFile(ephemeralRangeFile)
	if err != nil {
		return 0, false
	}
	fields := strings.Fields(string(b))
	if len(fields) != 2 {
		return 0, false
	}
	first, err := strconv.Atoi(fields[0])
	return first, err == nil
}
