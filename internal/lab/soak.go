package lab

import (
	"context"
	"fmt"
	"math/rand"
	"sync"
	"time"
)

// SoakOptions shape a seeded random fault soak (Soak).
type SoakOptions struct {
	Seed     int64
	Duration time.Duration // of sending and faults
	// SendEvery is how often each middleware sends one message.
	SendEvery time.Duration
	// Kills adds kill -9 and a restart with the state to the faults (a
	// protocol that is not fault tolerant stalls on it, by design).
	Kills bool
	// Settle bounds the wait for everything to be delivered afterwards.
	Settle time.Duration
	// Logf, when set, hears of every fault.
	Logf func(format string, args ...any)
}

// SoakReport says what a soak did.
type SoakReport struct {
	Faults map[string]int // by kind: pause, isolate, network restart, kill
}

func (r SoakReport) String() string {
	return fmt.Sprintf("%d pauses, %d cut links, %d network-program restarts, %d kills with restart",
		r.Faults["pause"], r.Faults["isolate"], r.Faults["network"], r.Faults["kill"])
}

// Soak drives a running lab for opt.Duration: every middleware sends,
// and one fault at a time, drawn from opt.Seed, hits a random middleware
// (SIGSTOP for 0.5–2 s, its control links cut for 0.5–2 s, kill -9 and a
// restart with its state after 0.5–2 s) or the network program (killed
// and started again). Then it waits until every middleware delivered the
// same, unchanged for 3 s. The caller checks the run.
func Soak(ctx context.Context, l *Lab, opt SoakOptions) (SoakReport, error) {
	rep := SoakReport{Faults: map[string]int{}}
	rng := rand.New(rand.NewSource(opt.Seed))
	logf := opt.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	var mu sync.Mutex
	down := map[int]bool{} // killed or paused: no commands for it
	sendCtx, stopSending := context.WithCancel(ctx)
	var senders sync.WaitGroup
	senders.Add(1)
	go func() { // owned by Soak: stopped and waited for below
		defer senders.Done()
		t := time.NewTicker(opt.SendEvery)
		defer t.Stop()
		for {
			select {
			case <-sendCtx.Done():
				return
			case <-t.C:
			}
			mu.Lock()
			for _, i := range l.IDs() {
				if !down[i] {
					_ = l.Send(i, 1) // a middleware killed meanwhile misses one
				}
			}
			mu.Unlock()
		}
	}()
	defer func() { stopSending(); senders.Wait() }()

	span := func() time.Duration {
		return 500*time.Millisecond + time.Duration(rng.Int63n(int64(1500*time.Millisecond)))
	}
	end := time.Now().Add(opt.Duration)
	for time.Now().Before(end) {
		if err := pauseFor(ctx, 300*time.Millisecond+time.Duration(rng.Int63n(int64(700*time.Millisecond)))); err != nil {
			return rep, err
		}
		victim := 1 + rng.Intn(len(l.IDs()))
		kinds := []string{"pause", "isolate", "network"}
		if !CanPause { // Windows: no SIGSTOP
			kinds = kinds[1:]
		}
		if opt.Kills {
			kinds = append(kinds, "kill")
		}
		kind, d := kinds[rng.Intn(len(kinds))], span()
		rep.Faults[kind]++
		switch kind {
		case "pause":
			logf("pause Middleware %d for %v", victim, d)
			mu.Lock()
			down[victim] = true
			mu.Unlock()
			if err := l.Pause(victim); err != nil {
				return rep, err
			}
			err := pauseFor(ctx, d)
			if err2 := l.Resume(victim); err == nil {
				err = err2
			}
			mu.Lock()
			down[victim] = false
			mu.Unlock()
			if err != nil {
				return rep, err
			}
		case "isolate":
			logf("cut Middleware %d off for %v", victim, d)
			if err := l.Command(victim, "isolate "+d.String()); err != nil {
				return rep, err
			}
			if err := pauseFor(ctx, d); err != nil {
				return rep, err
			}
		case "network":
			logf("restart the network program")
			l.KillNet()
			if err := l.StartNet(); err != nil {
				return rep, fmt.Errorf("network program restart: %w", err)
			}
		case "kill":
			logf("kill -9 Middleware %d, restart after %v", victim, d)
			mu.Lock()
			down[victim] = true
			mu.Unlock()
			l.Kill(victim)
			if err := pauseFor(ctx, d); err != nil {
				return rep, err
			}
			if err := l.StartMW(victim); err != nil {
				return rep, fmt.Errorf("restart of %d: %w", victim, err)
			}
			mu.Lock()
			down[victim] = false
			mu.Unlock()
		}
	}
	stopSending()
	senders.Wait()
	settle, cancel := context.WithTimeout(ctx, opt.Settle)
	defer cancel()
	if err := l.WaitSettled(settle, l.IDs(), 3*time.Second); err != nil {
		return rep, fmt.Errorf("after the soak (%v): %w", rep, err)
	}
	return rep, nil
}

// pauseFor lets a fault last d (a duration, not a synchronisation).
func pauseFor(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
