package postgres_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/chatd/chatd/internal/store"
)

// TestConcurrentDefaultModel makes different models the default at once,
// as admins on two replicas might. Each change must succeed (not trip over
// the one-default index) and exactly one default must remain.
func TestConcurrentDefaultModel(t *testing.T) {
	t.Parallel()
	db := open(t)
	ctx := t.Context()
	p, err := db.CreateProvider(ctx, store.Provider{Name: "p", Type: store.ProviderOpenAI, Enabled: true})
	if err != nil {
		t.Fatalf("CreateProvider: %v", err)
	}
	const n = 8
	ids := make([]string, n)
	for i := range n {
		m, err := db.CreateModel(ctx, store.ModelConfig{ProviderID: p.ID, Model: fmt.Sprint("m", i), Enabled: true})
		if err != nil {
			t.Fatalf("CreateModel: %v", err)
		}
		ids[i] = m.ID
	}
	isDefault := true
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Go(func() {
			_, err := db.UpdateModel(ctx, ids[i], store.ModelPatch{IsDefault: &isDefault})
			errs <- err
		})
		wg.Go(func() {
			_, err := db.CreateModel(ctx, store.ModelConfig{ProviderID: p.ID, Model: fmt.Sprint("new", i), IsDefault: true})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("set default: %v", err)
		}
	}
	ms, err := db.ListModels(ctx)
	if err != nil {
		t.Fatalf("ListModels: %v", err)
	}
	defaults := 0
	for _, m := range ms {
		if m.IsDefault {
			defaults++
		}
	}
	if defaults != 1 {
		t.Fatalf("defaults = %d, want 1", defaults)
	}
}
