package kubesecret

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/yaml"
)

// FieldManager names flux-mirror as the writer of the Secret in the API
// server's managed fields.
const FieldManager = "flux-mirror"

// Action is what Apply did.
type Action string

const (
	// Created: the Secret did not exist and was created.
	Created Action = "created"
	// Replaced: the Secret existed and its data was replaced.
	Replaced Action = "replaced"
)

// Build returns the Secret of type kubernetes.io/dockerconfigjson holding
// dockerConfigJSON (dockerconfig.Encode's payload) under the key
// .dockerconfigjson.
func Build(name, namespace string, dockerConfigJSON []byte) *corev1.Secret {
	return &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: dockerConfigJSON},
	}
}

// Apply writes secret to the cluster. By default it creates the Secret or,
// when it exists, replaces its data while keeping its other metadata: the
// existing labels and annotations are merged with secret's (secret's win).
// The update carries the resourceVersion that was read, so a concurrent
// change makes it fail with a Conflict, which Apply retries from a fresh
// read (client-go's retry.DefaultRetry). With createOnly, an existing
// Secret is an error.
func Apply(ctx context.Context, secrets *Client, secret *corev1.Secret, createOnly bool) (Action, error) {
	if err := validateMeta(secret.Name, secret.Namespace, true); err != nil {
		return "", err
	}
	ref := secret.Namespace + "/" + secret.Name
	want := forWrite(secret)

	if createOnly {
		if err := secrets.create(ctx, want); err != nil {
			if apierrors.IsAlreadyExists(err) {
				return "", fmt.Errorf("secret %s already exists; drop --create to replace it", ref)
			}
			return "", fmt.Errorf("create secret %s: %w", ref, err)
		}
		return Created, nil
	}

	var action Action
	retriable := func(err error) bool { return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) }
	err := retry.OnError(retry.DefaultRetry, retriable, func() error {
		existing, err := secrets.get(ctx, secret.Namespace, secret.Name)
		if apierrors.IsNotFound(err) {
			// Created concurrently before our POST: AlreadyExists, retried
			// as an update.
			if err := secrets.create(ctx, want); err != nil {
				return err
			}
			action = Created
			return nil
		}
		if err != nil {
			return err
		}
		if existing.Type != want.Type {
			return fmt.Errorf("it has type %q, not %q, and the type cannot change; delete it or choose another name", existing.Type, want.Type)
		}
		if existing.Immutable != nil && *existing.Immutable {
			return errors.New("it is immutable; delete it to replace it")
		}
		updated := existing.DeepCopy()
		updated.Labels = merged(existing.Labels, want.Labels)
		updated.Annotations = merged(existing.Annotations, want.Annotations)
		updated.Data = want.Data
		updated.StringData = nil
		if err := secrets.update(ctx, updated); err != nil {
			return err
		}
		action = Replaced
		return nil
	})
	if err != nil {
		if apierrors.IsConflict(err) {
			return "", fmt.Errorf("apply secret %s: it kept changing while being replaced; try again: %w", ref, err)
		}
		return "", fmt.Errorf("apply secret %s: %w", ref, err)
	}
	return action, nil
}

// forWrite is a copy of secret without the fields the API server owns.
func forWrite(secret *corev1.Secret) *corev1.Secret {
	s := secret.DeepCopy()
	s.ResourceVersion = ""
	s.UID = ""
	s.Generation = 0
	s.CreationTimestamp = metav1.Time{}
	s.DeletionTimestamp = nil
	s.ManagedFields = nil
	return s
}

// merged is base with over's entries added or replaced; nil if both are
// empty.
func merged(base, over map[string]string) map[string]string {
	if len(base) == 0 && len(over) == 0 {
		return nil
	}
	out := make(map[string]string, len(base)+len(over))
	maps.Copy(out, base)
	maps.Copy(out, over)
	return out
}

// ExportYAML renders secret as a manifest for `kubectl apply -f`:
// apiVersion and kind set, and none of the fields the API server owns
// (resourceVersion, uid, creationTimestamp, managedFields, status).
func ExportYAML(secret *corev1.Secret) ([]byte, error) {
	if err := validateMeta(secret.Name, secret.Namespace, false); err != nil {
		return nil, err
	}
	s := forWrite(secret)
	s.APIVersion, s.Kind = "v1", "Secret"
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("export secret %s: %w", secret.Name, err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("export secret %s: %w", secret.Name, err)
	}
	if meta, ok := doc["metadata"].(map[string]any); ok {
		// metav1.Time encodes its zero value as null, which omitempty
		// cannot drop.
		delete(meta, "creationTimestamp")
	}
	delete(doc, "status")
	out, err := yaml.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("export secret %s: %w", secret.Name, err)
	}
	return out, nil
}

// validateMeta checks the Secret's name and namespace the way the API server
// will, so that a typo fails before any request (or export) with the rule.
func validateMeta(name, namespace string, needNamespace bool) error {
	if name == "" {
		return errors.New("secret name is empty")
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return fmt.Errorf("secret name %q: %s", name, strings.Join(errs, "; "))
	}
	if namespace == "" {
		if needNamespace {
			return fmt.Errorf("secret %s: namespace is empty", name)
		}
		return nil
	}
	if errs := validation.IsDNS1123Label(namespace); len(errs) > 0 {
		return fmt.Errorf("namespace %q: %s", namespace, strings.Join(errs, "; "))
	}
	return nil
}
