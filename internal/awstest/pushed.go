package awstest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ecrdeploy/ecrdeploy/internal/localaws"
	"github.com/ecrdeploy/ecrdeploy/pkg/event"
)

// PutPushedImages makes ECR have the image of every push event in the files
// matching pattern, or in the directory it names (the repository created
// beforehand), under the event's tag and digest, as ECR has every image it
// sends a push event for: the deployer checks a push against ECR. Files that
// are not image pushes with a tag are passed over.
func (e *Env) PutPushedImages(t *testing.T, pattern string) {
	t.Helper()
	if fi, err := os.Stat(pattern); err == nil && fi.IsDir() {
		pattern = filepath.Join(pattern, "*.json")
	}
	files, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := event.Decode(raw)
		p, ok := ev.(event.Push)
		if err != nil || !ok || p.Tag == "" || !p.IsImage() {
			continue
		}
		Must(e.Local.PutImageDigest(t.Context(), p.Repository, p.Tag, localaws.ImageManifest(p.Tag), p.Digest))(t)
	}
}
