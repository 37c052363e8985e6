// Package cnpgv1 declares the part of CloudNativePG's postgresql.cnpg.io/v1 Cluster that
// posimport's manifests use, with upstream's JSON names, so deploy-check can decode them
// strictly. The operator's Go module cannot be fetched here; a field the manifests start to
// use must be added with upstream's name and type (api/v1/cluster_types.go), or decoding
// fails on it as unknown.
package cnpgv1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Cluster is a PostgreSQL cluster run by the operator.
type Cluster struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              ClusterSpec `json:"spec"`
}

// ClusterSpec is the desired state of a Cluster.
type ClusterSpec struct {
	Description           string                      `json:"description,omitempty"`
	ImageName             string                      `json:"imageName,omitempty"`
	Instances             int                         `json:"instances"`
	PrimaryUpdateStrategy string                      `json:"primaryUpdateStrategy,omitempty"`
	PrimaryUpdateMethod   string                      `json:"primaryUpdateMethod,omitempty"`
	EnableSuperuserAccess *bool                       `json:"enableSuperuserAccess,omitempty"`
	EnablePDB             *bool                       `json:"enablePDB,omitempty"`
	StorageConfiguration  StorageConfiguration        `json:"storage,omitempty"`
	WalStorage            *StorageConfiguration       `json:"walStorage,omitempty"`
	PostgresConfiguration PostgresConfiguration       `json:"postgresql,omitempty"`
	Bootstrap             *BootstrapConfiguration     `json:"bootstrap,omitempty"`
	Managed               *ManagedConfiguration       `json:"managed,omitempty"`
	Affinity              AffinityConfiguration       `json:"affinity,omitempty"`
	Resources             corev1.ResourceRequirements `json:"resources,omitempty"`
}

// StorageConfiguration is an instance's volume.
type StorageConfiguration struct {
	StorageClass *string `json:"storageClass,omitempty"`
	Size         string  `json:"size,omitempty"`
}

// PostgresConfiguration is postgresql.conf and replication.
type PostgresConfiguration struct {
	Parameters  map[string]string                `json:"parameters,omitempty"`
	Synchronous *SynchronousReplicaConfiguration `json:"synchronous,omitempty"`
}

// SynchronousReplicaConfiguration is quorum-based synchronous replication.
type SynchronousReplicaConfiguration struct {
	Method         string `json:"method"`
	Number         int    `json:"number"`
	DataDurability string `json:"dataDurability,omitempty"`
}

// BootstrapConfiguration says how the cluster is created.
type BootstrapConfiguration struct {
	InitDB *BootstrapInitDB `json:"initdb,omitempty"`
}

// BootstrapInitDB creates the cluster with initdb.
type BootstrapInitDB struct {
	Database               string   `json:"database"`
	Owner                  string   `json:"owner"`
	DataChecksums          *bool    `json:"dataChecksums,omitempty"`
	PostInitApplicationSQL []string `json:"postInitApplicationSQL,omitempty"`
}

// ManagedConfiguration holds the roles the operator keeps in PostgreSQL.
type ManagedConfiguration struct {
	Roles []RoleConfiguration `json:"roles,omitempty"`
}

// RoleConfiguration is a role the operator creates or alters.
type RoleConfiguration struct {
	Name            string                       `json:"name"`
	Comment         string                       `json:"comment,omitempty"`
	Ensure          string                       `json:"ensure,omitempty"`
	PasswordSecret  *corev1.LocalObjectReference `json:"passwordSecret,omitempty"`
	ConnectionLimit int64                        `json:"connectionLimit,omitempty"`
	InRoles         []string                     `json:"inRoles,omitempty"`
	Login           bool                         `json:"login,omitempty"`
	Superuser       bool                         `json:"superuser,omitempty"`
	CreateDB        bool                         `json:"createdb,omitempty"`
	CreateRole      bool                         `json:"createrole,omitempty"`
	BypassRLS       bool                         `json:"bypassrls,omitempty"`
}

// AffinityConfiguration places the instances.
type AffinityConfiguration struct {
	EnablePodAntiAffinity *bool  `json:"enablePodAntiAffinity,omitempty"`
	TopologyKey           string `json:"topologyKey,omitempty"`
	PodAntiAffinityType   string `json:"podAntiAffinityType,omitempty"`
}
