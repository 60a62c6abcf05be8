// Original file: /work/main/proto/felix/felixbackend.proto

import type { InSync as _felix_InSync, InSync__Output as _felix_InSync__Output } from './InSync.js';
import type { IPSetUpdate as _felix_IPSetUpdate, IPSetUpdate__Output as _felix_IPSetUpdate__Output } from './IPSetUpdate.js';
import type { IPSetDeltaUpdate as _felix_IPSetDeltaUpdate, IPSetDeltaUpdate__Output as _felix_IPSetDeltaUpdate__Output } from './IPSetDeltaUpdate.js';
import type { IPSetRemove as _felix_IPSetRemove, IPSetRemove__Output as _felix_IPSetRemove__Output } from './IPSetRemove.js';
import type { ActiveProfileUpdate as _felix_ActiveProfileUpdate, ActiveProfileUpdate__Output as _felix_ActiveProfileUpdate__Output } from './ActiveProfileUpdate.js';
import type { ActiveProfileRemove as _felix_ActiveProfileRemove, ActiveProfileRemove__Output as _felix_ActiveProfileRemove__Output } from './ActiveProfileRemove.js';
import type { ActivePolicyUpdate as _felix_ActivePolicyUpdate, ActivePolicyUpdate__Output as _felix_ActivePolicyUpdate__Output } from './ActivePolicyUpdate.js';
import type { ActivePolicyRemove as _felix_ActivePolicyRemove, ActivePolicyRemove__Output as _felix_ActivePolicyRemove__Output } from './ActivePolicyRemove.js';
import type { WorkloadEndpointUpdate as _felix_WorkloadEndpointUpdate, WorkloadEndpointUpdate__Output as _felix_WorkloadEndpointUpdate__Output } from './WorkloadEndpointUpdate.js';
import type { WorkloadEndpointRemove as _felix_WorkloadEndpointRemove, WorkloadEndpointRemove__Output as _felix_WorkloadEndpointRemove__Output } from './WorkloadEndpointRemove.js';
import type { ServiceAccountUpdate as _felix_ServiceAccountUpdate, ServiceAccountUpdate__Output as _felix_ServiceAccountUpdate__Output } from './ServiceAccountUpdate.js';
import type { ServiceAccountRemove as _felix_ServiceAccountRemove, ServiceAccountRemove__Output as _felix_ServiceAccountRemove__Output } from './ServiceAccountRemove.js';
import type { NamespaceUpdate as _felix_NamespaceUpdate, NamespaceUpdate__Output as _felix_NamespaceUpdate__Output } from './NamespaceUpdate.js';
import type { NamespaceRemove as _felix_NamespaceRemove, NamespaceRemove__Output as _felix_NamespaceRemove__Output } from './NamespaceRemove.js';
import type { Long } from '@grpc/proto-loader';

export interface ToDataplane {
  'in_sync'?: (_felix_InSync | null);
  'ipset_update'?: (_felix_IPSetUpdate | null);
  'ipset_delta_update'?: (_felix_IPSetDeltaUpdate | null);
  'ipset_remove'?: (_felix_IPSetRemove | null);
  'active_profile_update'?: (_felix_ActiveProfileUpdate | null);
  'active_profile_remove'?: (_felix_ActiveProfileRemove | null);
  'active_policy_update'?: (_felix_ActivePolicyUpdate | null);
  'active_policy_remove'?: (_felix_ActivePolicyRemove | null);
  'workload_endpoint_update'?: (_felix_WorkloadEndpointUpdate | null);
  'workload_endpoint_remove'?: (_felix_WorkloadEndpointRemove | null);
  'sequence_number'?: (number | string | Long);
  'service_account_update'?: (_felix_ServiceAccountUpdate | null);
  'service_account_remove'?: (_felix_ServiceAccountRemove | null);
  'namespace_update'?: (_felix_NamespaceUpdate | null);
  'namespace_remove'?: (_felix_NamespaceRemove | null);
  'payload'?: "in_sync"|"ipset_update"|"ipset_delta_update"|"ipset_remove"|"active_profile_update"|"active_profile_remove"|"active_policy_update"|"active_policy_remove"|"workload_endpoint_update"|"workload_endpoint_remove"|"service_account_update"|"service_account_remove"|"namespace_update"|"namespace_remove";
}

export interface ToDataplane__Output {
  'in_sync'?: (_felix_InSync__Output | null);
  'ipset_update'?: (_felix_IPSetUpdate__Output | null);
  'ipset_delta_update'?: (_felix_IPSetDeltaUpdate__Output | null);
  'ipset_remove'?: (_felix_IPSetRemove__Output | null);
  'active_profile_update'?: (_felix_ActiveProfileUpdate__Output | null);
  'active_profile_remove'?: (_felix_ActiveProfileRemove__Output | null);
  'active_policy_update'?: (_felix_ActivePolicyUpdate__Output | null);
  'active_policy_remove'?: (_felix_ActivePolicyRemove__Output | null);
  'workload_endpoint_update'?: (_felix_WorkloadEndpointUpdate__Output | null);
  'workload_endpoint_remove'?: (_felix_WorkloadEndpointRemove__Output | null);
  'sequence_number': (number);
  'service_account_update'?: (_felix_ServiceAccountUpdate__Output | null);
  'service_account_remove'?: (_felix_ServiceAccountRemove__Output | null);
  'namespace_update'?: (_felix_NamespaceUpdate__Output | null);
  'namespace_remove'?: (_felix_NamespaceRemove__Output | null);
  'payload'?: "in_sync"|"ipset_update"|"ipset_delta_update"|"ipset_remove"|"active_profile_update"|"active_profile_remove"|"active_policy_update"|"active_policy_remove"|"workload_endpoint_update"|"workload_endpoint_remove"|"service_account_update"|"service_account_remove"|"namespace_update"|"namespace_remove";
}
