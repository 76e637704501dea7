// Package kubesecret writes registry credentials to Kubernetes as a Secret of
// type kubernetes.io/dockerconfigjson through client-go, for
// `flux-mirror secret`.
//
// Options resolves the cluster connection the way kubectl does (kubeconfig
// from --kubeconfig or $KUBECONFIG or ~/.kube/config, --context, connection
// overrides, and the in-cluster service account as the fallback); Build makes
// the Secret; Apply creates or replaces it, keeping the labels and
// annotations it already had; ExportYAML renders it as a manifest instead.
package kubesecret
