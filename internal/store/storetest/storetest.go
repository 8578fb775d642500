// Package storetest is the conformance suite that every store.Store backend
// must pass.
package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/store"
)

// Run runs the whole suite. open must return a fresh, empty store for each
// call; Run closes it when the subtest ends. Subtests do not run in
// parallel, so open may reset a shared database.
//
// Semantics pinned down here beyond the store package's comments:
//   - all times come back in UTC at microsecond precision;
//   - ListUsers is ordered by username and ListProviders by name;
//   - InterceptionFilter.Since is inclusive, Until and Before exclusive;
//   - UsageByDay ignores Limit; its row order is not checked;
//   - PutProviderKey keeps the first CreatedAt when it replaces a key.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	fresh := func(t *testing.T) store.Store {
		t.Helper()
		s := open(t)
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("close store: %v", err)
			}
		})
		return s
	}
	groups := []struct {
		name string
		run  func(t *testing.T, fresh func(t *testing.T) store.Store)
	}{
		{"Users", testUsers},
		{"APIKeys", testAPIKeys},
		{"Providers", testProviders},
		{"Models", testModels},
		{"ProviderKeys", testProviderKeys},
		{"Interceptions", testInterceptions},
		{"DirtyInterceptions", testDirtyInterceptions},
		{"Settings", testSettings},
		{"Database", testDatabase},
		{"Concurrency", testConcurrency},
		{"Chats", testChats},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) { g.run(t, fresh) })
	}
}

// base is a fixed instant with sub-microsecond noise that the store must
// drop.
var base = time.Date(2025, 3, 14, 9, 26, 53, 589_793_238, time.UTC)

func us(t time.Time) time.Time { return t.Truncate(time.Microsecond) }

func ptr[T any](v T) *T { return &v }

// wantErr fails unless err wraps target.
func wantErr(t *testing.T, op string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", op, err, target)
	}
}

// noErr fails on any error.
func noErr(t *testing.T, op string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
}

// sameTime fails unless got equals want at microsecond precision and is in
// UTC.
func sameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(us(want)) {
		t.Fatalf("%s = %v, want %v", what, got, us(want))
	}
	if !got.IsZero() && got.Location() != time.UTC {
		t.Fatalf("%s location = %v, want UTC", what, got.Location())
	}
}

func sameTimePtr(t *testing.T, what string, got, want *time.Time) {
	t.Helper()
	switch {
	case got == nil && want == nil:
	case got == nil || want == nil:
		t.Fatalf("%s = %v, want %v", what, fmtPtr(got), fmtPtr(want))
	default:
		sameTime(t, what, *got, *want)
	}
}

func fmtPtr[T any](p *T) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprint(*p)
}

// sameRecord compares two structs: every time.Time and *time.Time field
// with sameTime, every other field with reflect.DeepEqual.
func sameRecord[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	gv := reflect.ValueOf(&got).Elem()
	wv := reflect.ValueOf(&want).Elem()
	timeType := reflect.TypeFor[time.Time]()
	for i := range gv.NumField() {
		f := gv.Type().Field(i)
		g, w := gv.Field(i), wv.Field(i)
		switch {
		case f.Type == timeType:
			sameTime(t, what+"."+f.Name, g.Interface().(time.Time), w.Interface().(time.Time))
		case f.Type == reflect.PointerTo(timeType):
			sameTimePtr(t, what+"."+f.Name, g.Interface().(*time.Time), w.Interface().(*time.Time))
		default:
			if !reflect.DeepEqual(g.Interface(), w.Interface()) {
				t.Fatalf("%s.%s = %#v, want %#v", what, f.Name, g.Interface(), w.Interface())
			}
		}
	}
}

func mustUser(t *testing.T, s store.Store, username string) store.User {
	t.Helper()
	u, err := s.CreateUser(t.Context(), store.User{Username: username, Role: store.RoleMember})
	noErr(t, "create user "+username, err)
	return u
}

func mustProvider(t *testing.T, s store.Store, name string) store.Provider {
	t.Helper()
	p, err := s.CreateProvider(t.Context(), store.Provider{
		Name: name, Type: store.ProviderOpenAI, BaseURL: "https://" + name + ".example", Enabled: true,
	})
	noErr(t, "create provider "+name, err)
	return p
}

func mustModel(t *testing.T, s store.Store, providerID, model string, isDefault bool) store.ModelConfig {
	t.Helper()
	m, err := s.CreateModel(t.Context(), store.ModelConfig{
		ProviderID: providerID, Model: model, DisplayName: model, Enabled: true, IsDefault: isDefault,
	})
	noErr(t, "create model "+model, err)
	return m
}
