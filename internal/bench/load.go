package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// loadResult is what one closed-loop load run measured.
type loadResult struct {
	Requests int           // completed with status 200
	Errors   int           // transport errors and other statuses
	Elapsed  time.Duration // wall time of the run
	P50, P99 time.Duration
}

// RPS is completed requests per second.
func (r loadResult) RPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// runLoad drives url with conns keep-alive connections, each sending its
// next request when the previous answer has been read, for d.
func runLoad(ctx context.Context, url string, conns int, d time.Duration) loadResult {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		mu  sync.Mutex
		all []time.Duration
		res loadResult
		wg  sync.WaitGroup
		t0  = time.Now()
	)
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr := &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}
			defer tr.CloseIdleConnections()
			c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
			lat := make([]time.Duration, 0, 1<<14)
			ok, bad := 0, 0
			for ctx.Err() == nil {
				start := time.Now()
				resp, err := c.Get(url)
				if err != nil {
					if ctx.Err() == nil {
						bad++
					}
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					bad++
					continue
				}
				ok++
				lat = append(lat, time.Since(start))
			}
			mu.Lock()
			all = append(all, lat...)
			res.Requests += ok
			res.Errors += bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(t0)
	res.P50, res.P99 = percentile(all, 0.50), percentile(all, 0.99)
	return res
}

// percentile returns the q-quantile (nearest rank) of ds; it sorts ds.
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := int(q*float64(len(ds))+0.5) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}

// waitHTTP polls url until it answers 200 or ctx ends.
func waitHTTP(ctx context.Context, url string) error {
	for {
		resp, err := http.Get(url)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w (last error: %v)", url, ctx.Err(), err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
