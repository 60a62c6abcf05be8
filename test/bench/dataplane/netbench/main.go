// netbench: the small network tool of `npm run bench:dataplane`, run inside a pod's network
// namespace (ip netns exec). Test-only; standard library only.
//
//	netbench probe          reads "<id> <ip:port> <timeoutMs>" lines on stdin, answers
//	                        "<id> reached <µs>" (connected, or refused: the SYN got through) or
//	                        "<id> blocked" (no answer within the timeout) on stdout, one goroutine each
//	netbench serve <port>   accepts TCP connections and closes each at once
//	netbench crr <ip:port> <seconds> <workers>
//	                        connect / wait for the server's close / close, in a loop on each
//	                        worker; prints {"connections":n,"errors":e,"seconds":s}
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	switch os.Args[1] {
	case "probe":
		probe()
	case "serve":
		if len(os.Args) != 3 {
			usage()
		}
		serve(os.Args[2])
	case "crr":
		if len(os.Args) != 5 {
			usage()
		}
		seconds, err1 := strconv.ParseFloat(os.Args[3], 64)
		workers, err2 := strconv.Atoi(os.Args[4])
		if err1 != nil || err2 != nil || seconds <= 0 || workers <= 0 {
			usage()
		}
		crr(os.Args[2], seconds, workers)
	default:
		usage()
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: netbench probe | serve <port> | crr <ip:port> <seconds> <workers>")
	os.Exit(2)
}

func probe() {
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	answer := func(line string) {
		mu.Lock()
		defer mu.Unlock()
		out.WriteString(line + "\n")
		out.Flush()
	}
	in := bufio.NewScanner(os.Stdin)
	fmt.Println("ready")
	for in.Scan() {
		f := strings.Fields(in.Text())
		if len(f) != 3 {
			continue
		}
		ms, err := strconv.Atoi(f[2])
		if err != nil {
			continue
		}
		id, addr := f[0], f[1]
		go func() {
			start := time.Now()
			c, err := net.DialTimeout("tcp", addr, time.Duration(ms)*time.Millisecond)
			took := time.Since(start).Microseconds()
			switch {
			case err == nil:
				c.Close()
				answer(fmt.Sprintf("%s reached %d", id, took))
			case errors.Is(err, syscall.ECONNREFUSED):
				answer(fmt.Sprintf("%s reached %d", id, took))
			default:
				answer(fmt.Sprintf("%s blocked", id))
			}
		}()
	}
}

func serve(port string) {
	l, err := net.Listen("tcp", ":"+port)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("listening")
	for {
		c, err := l.Accept()
		if err != nil {
			continue
		}
		c.Close()
	}
}

func crr(addr string, seconds float64, workers int) {
	var done, failed atomic.Int64
	deadline := time.Now().Add(time.Duration(seconds * float64(time.Second)))
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 1)
			for time.Now().Before(deadline) {
				c, err := net.DialTimeout("tcp", addr, time.Second)
				if err != nil {
					failed.Add(1)
					continue
				}
				// The server closes first, so TIME_WAIT stays on its side, not on our ports.
				_, err = c.Read(buf)
				c.Close()
				if err != nil && err != io.EOF {
					failed.Add(1)
					continue
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	json.NewEncoder(os.Stdout).Encode(map[string]any{
		"connections": done.Load(),
		"errors":      failed.Load(),
		"seconds":     time.Since(start).Seconds(),
	})
}
