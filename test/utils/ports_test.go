package utils_test

import (
	"net"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/cxops/cx-operator/test/utils"
)

// TestFreeAddressStaysOutOfTheEphemeralRange checks that the ports handed
// out are distinct, bindable and, where the kernel publishes its ephemeral
// range, below it, so that no client connection can take one before its
// server binds it.
func TestFreeAddressStaysOutOfTheEphemeralRange(t *testing.T) {
	first := 0
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			first, _ = strconv.Atoi(f[0])
		}
	}
	seen := map[string]bool{}
	for range 100 {
		addr, err := utils.FreeAddress()
		if err != nil {
			t.Fatal(err)
		}
		if seen[addr] {
			t.Fatalf("FreeAddress handed out %s twice", addr)
		}
		seen[addr] = true
		host, p, err := net.SplitHostPort(addr)
		if err != nil || host != "127.0.0.1" {
			t.Fatalf("FreeAddress returned %q, want 127.0.0.1:PORT", addr)
		}
		port, _ := strconv.Atoi(p)
		if first > 21000 && port >= first {
			t.Errorf("port %d is in the kernel's ephemeral range (from %d)", port, first)
		}
		lis, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("binding %s: %v", addr, err)
		}
		_ = lis.Close()
	}
}
