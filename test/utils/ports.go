package utils

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
)

var (
	portsMu sync.Mutex
	// portsGiven are the ports FreeAddress handed out in this process, so
	// that two servers of one test never get the same one.
	portsGiven = map[int]bool{}
)

// FreeAddress returns "127.0.0.1:PORT" with a port that was free a moment
// ago and that this process has not handed out before.
func FreeAddress() (string, error) {
	portsMu.Lock()
	defer portsMu.Unlock()
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
