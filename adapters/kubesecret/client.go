package kubesecret

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/rest"
)

// Client reads and writes Secrets through the API server's core/v1 REST
// API. It is all flux-mirror needs of Kubernetes, so it is built on
// client-go's REST client with a scheme that knows core/v1 alone, not on
// the typed clientset that links every API group into the binary.
type Client struct {
	rest *rest.RESTClient
}

// NewClient returns a Client for the API server cfg describes. It contacts
// no server.
func NewClient(cfg *rest.Config) (*Client, error) {
	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("register core/v1: %w", err)
	}
	metav1.AddToGroupVersion(scheme, corev1.SchemeGroupVersion)
	c := rest.CopyConfig(cfg)
	c.APIPath = "/api"
	c.GroupVersion = &corev1.SchemeGroupVersion
	c.NegotiatedSerializer = serializer.NewCodecFactory(scheme).WithoutConversion()
	if c.UserAgent == "" {
		c.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	rc, err := rest.RESTClientFor(c)
	if err != nil {
		return nil, fmt.Errorf("create the Kubernetes client for %s: %w", cfg.Host, err)
	}
	return &Client{rest: rc}, nil
}

// get reads a Secret; a missing one is an error that apierrors.IsNotFound
// recognises.
func (c *Client) get(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	s := &corev1.Secret{}
	err := c.rest.Get().Namespace(namespace).Resource("secrets").Name(name).Do(ctx).Into(s)
	return s, err
}

// create creates s in its namespace.
func (c *Client) create(ctx context.Context, s *corev1.Secret) error {
	return c.rest.Post().Namespace(s.Namespace).Resource("secrets").
		Param("fieldManager", FieldManager).Body(s).Do(ctx).Error()
}

// update replaces s, guarded by its resourceVersion.
func (c *Client) update(ctx context.Context, s *corev1.Secret) error {
	return c.rest.Put().Namespace(s.Namespace).Resource("secrets").Name(s.Name).
		Param("fieldManager", FieldManager).Body(s).Do(ctx).Error()
}
