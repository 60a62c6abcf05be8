import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { ActivePolicyRemove as _felix_ActivePolicyRemove, ActivePolicyRemove__Output as _felix_ActivePolicyRemove__Output } from './felix/ActivePolicyRemove.js';
import type { ActivePolicyUpdate as _felix_ActivePolicyUpdate, ActivePolicyUpdate__Output as _felix_ActivePolicyUpdate__Output } from './felix/ActivePolicyUpdate.js';
import type { ActiveProfileRemove as _felix_ActiveProfileRemove, ActiveProfileRemove__Output as _felix_ActiveProfileRemove__Output } from './felix/ActiveProfileRemove.js';
import type { ActiveProfileUpdate as _felix_ActiveProfileUpdate, ActiveProfileUpdate__Output as _felix_ActiveProfileUpdate__Output } from './felix/ActiveProfileUpdate.js';
import type { DataplaneStats as _felix_DataplaneStats, DataplaneStats__Output as _felix_DataplaneStats__Output } from './felix/DataplaneStats.js';
import type { HTTPMatch as _felix_HTTPMatch, HTTPMatch__Output as _felix_HTTPMatch__Output } from './felix/HTTPMatch.js';
import type { IPSetDeltaUpdate as _felix_IPSetDeltaUpdate, IPSetDeltaUpdate__Output as _felix_IPSetDeltaUpdate__Output } from './felix/IPSetDeltaUpdate.js';
import type { IPSetRemove as _felix_IPSetRemove, IPSetRemove__Output as _felix_IPSetRemove__Output } from './felix/IPSetRemove.js';
import type { IPSetUpdate as _felix_IPSetUpdate, IPSetUpdate__Output as _felix_IPSetUpdate__Output } from './felix/IPSetUpdate.js';
import type { IcmpTypeAndCode as _felix_IcmpTypeAndCode, IcmpTypeAndCode__Output as _felix_IcmpTypeAndCode__Output } from './felix/IcmpTypeAndCode.js';
import type { InSync as _felix_InSync, InSync__Output as _felix_InSync__Output } from './felix/InSync.js';
import type { NamespaceID as _felix_NamespaceID, NamespaceID__Output as _felix_NamespaceID__Output } from './felix/NamespaceID.js';
import type { NamespaceRemove as _felix_NamespaceRemove, NamespaceRemove__Output as _felix_NamespaceRemove__Output } from './felix/NamespaceRemove.js';
import type { NamespaceUpdate as _felix_NamespaceUpdate, NamespaceUpdate__Output as _felix_NamespaceUpdate__Output } from './felix/NamespaceUpdate.js';
import type { Policy as _felix_Policy, Policy__Output as _felix_Policy__Output } from './felix/Policy.js';
import type { PolicyID as _felix_PolicyID, PolicyID__Output as _felix_PolicyID__Output } from './felix/PolicyID.js';
import type { PolicySyncClient as _felix_PolicySyncClient, PolicySyncDefinition as _felix_PolicySyncDefinition } from './felix/PolicySync.js';
import type { PortRange as _felix_PortRange, PortRange__Output as _felix_PortRange__Output } from './felix/PortRange.js';
import type { Profile as _felix_Profile, Profile__Output as _felix_Profile__Output } from './felix/Profile.js';
import type { ProfileID as _felix_ProfileID, ProfileID__Output as _felix_ProfileID__Output } from './felix/ProfileID.js';
import type { Protocol as _felix_Protocol, Protocol__Output as _felix_Protocol__Output } from './felix/Protocol.js';
import type { ReportResult as _felix_ReportResult, ReportResult__Output as _felix_ReportResult__Output } from './felix/ReportResult.js';
import type { Rule as _felix_Rule, Rule__Output as _felix_Rule__Output } from './felix/Rule.js';
import type { RuleMetadata as _felix_RuleMetadata, RuleMetadata__Output as _felix_RuleMetadata__Output } from './felix/RuleMetadata.js';
import type { RuleTrace as _felix_RuleTrace, RuleTrace__Output as _felix_RuleTrace__Output } from './felix/RuleTrace.js';
import type { ServiceAccountID as _felix_ServiceAccountID, ServiceAccountID__Output as _felix_ServiceAccountID__Output } from './felix/ServiceAccountID.js';
import type { ServiceAccountMatch as _felix_ServiceAccountMatch, ServiceAccountMatch__Output as _felix_ServiceAccountMatch__Output } from './felix/ServiceAccountMatch.js';
import type { ServiceAccountRemove as _felix_ServiceAccountRemove, ServiceAccountRemove__Output as _felix_ServiceAccountRemove__Output } from './felix/ServiceAccountRemove.js';
import type { ServiceAccountUpdate as _felix_ServiceAccountUpdate, ServiceAccountUpdate__Output as _felix_ServiceAccountUpdate__Output } from './felix/ServiceAccountUpdate.js';
import type { Statistic as _felix_Statistic, Statistic__Output as _felix_Statistic__Output } from './felix/Statistic.js';
import type { SyncRequest as _felix_SyncRequest, SyncRequest__Output as _felix_SyncRequest__Output } from './felix/SyncRequest.js';
import type { TierInfo as _felix_TierInfo, TierInfo__Output as _felix_TierInfo__Output } from './felix/TierInfo.js';
import type { ToDataplane as _felix_ToDataplane, ToDataplane__Output as _felix_ToDataplane__Output } from './felix/ToDataplane.js';
import type { WorkloadEndpoint as _felix_WorkloadEndpoint, WorkloadEndpoint__Output as _felix_WorkloadEndpoint__Output } from './felix/WorkloadEndpoint.js';
import type { WorkloadEndpointID as _felix_WorkloadEndpointID, WorkloadEndpointID__Output as _felix_WorkloadEndpointID__Output } from './felix/WorkloadEndpointID.js';
import type { WorkloadEndpointRemove as _felix_WorkloadEndpointRemove, WorkloadEndpointRemove__Output as _felix_WorkloadEndpointRemove__Output } from './felix/WorkloadEndpointRemove.js';
import type { WorkloadEndpointUpdate as _felix_WorkloadEndpointUpdate, WorkloadEndpointUpdate__Output as _felix_WorkloadEndpointUpdate__Output } from './felix/WorkloadEndpointUpdate.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  felix: {
    Action: EnumTypeDefinition
    ActivePolicyRemove: MessageTypeDefinition<_felix_ActivePolicyRemove, _felix_ActivePolicyRemove__Output>
    ActivePolicyUpdate: MessageTypeDefinition<_felix_ActivePolicyUpdate, _felix_ActivePolicyUpdate__Output>
    ActiveProfileRemove: MessageTypeDefinition<_felix_ActiveProfileRemove, _felix_ActiveProfileRemove__Output>
    ActiveProfileUpdate: MessageTypeDefinition<_felix_ActiveProfileUpdate, _felix_ActiveProfileUpdate__Output>
    DataplaneStats: MessageTypeDefinition<_felix_DataplaneStats, _felix_DataplaneStats__Output>
    HTTPMatch: MessageTypeDefinition<_felix_HTTPMatch, _felix_HTTPMatch__Output>
    IPSetDeltaUpdate: MessageTypeDefinition<_felix_IPSetDeltaUpdate, _felix_IPSetDeltaUpdate__Output>
    IPSetRemove: MessageTypeDefinition<_felix_IPSetRemove, _felix_IPSetRemove__Output>
    IPSetUpdate: MessageTypeDefinition<_felix_IPSetUpdate, _felix_IPSetUpdate__Output>
    IPVersion: EnumTypeDefinition
    IcmpTypeAndCode: MessageTypeDefinition<_felix_IcmpTypeAndCode, _felix_IcmpTypeAndCode__Output>
    InSync: MessageTypeDefinition<_felix_InSync, _felix_InSync__Output>
    NamespaceID: MessageTypeDefinition<_felix_NamespaceID, _felix_NamespaceID__Output>
    NamespaceRemove: MessageTypeDefinition<_felix_NamespaceRemove, _felix_NamespaceRemove__Output>
    NamespaceUpdate: MessageTypeDefinition<_felix_NamespaceUpdate, _felix_NamespaceUpdate__Output>
    Policy: MessageTypeDefinition<_felix_Policy, _felix_Policy__Output>
    PolicyID: MessageTypeDefinition<_felix_PolicyID, _felix_PolicyID__Output>
    PolicySync: SubtypeConstructor<typeof grpc.Client, _felix_PolicySyncClient> & { service: _felix_PolicySyncDefinition }
    PortRange: MessageTypeDefinition<_felix_PortRange, _felix_PortRange__Output>
    Profile: MessageTypeDefinition<_felix_Profile, _felix_Profile__Output>
    ProfileID: MessageTypeDefinition<_felix_ProfileID, _felix_ProfileID__Output>
    Protocol: MessageTypeDefinition<_felix_Protocol, _felix_Protocol__Output>
    ReportResult: MessageTypeDefinition<_felix_ReportResult, _felix_ReportResult__Output>
    Rule: MessageTypeDefinition<_felix_Rule, _felix_Rule__Output>
    RuleMetadata: MessageTypeDefinition<_felix_RuleMetadata, _felix_RuleMetadata__Output>
    RuleTrace: MessageTypeDefinition<_felix_RuleTrace, _felix_RuleTrace__Output>
    ServiceAccountID: MessageTypeDefinition<_felix_ServiceAccountID, _felix_ServiceAccountID__Output>
    ServiceAccountMatch: MessageTypeDefinition<_felix_ServiceAccountMatch, _felix_ServiceAccountMatch__Output>
    ServiceAccountRemove: MessageTypeDefinition<_felix_ServiceAccountRemove, _felix_ServiceAccountRemove__Output>
    ServiceAccountUpdate: MessageTypeDefinition<_felix_ServiceAccountUpdate, _felix_ServiceAccountUpdate__Output>
    Statistic: MessageTypeDefinition<_felix_Statistic, _felix_Statistic__Output>
    SyncRequest: MessageTypeDefinition<_felix_SyncRequest, _felix_SyncRequest__Output>
    TierInfo: MessageTypeDefinition<_felix_TierInfo, _felix_TierInfo__Output>
    ToDataplane: MessageTypeDefinition<_felix_ToDataplane, _felix_ToDataplane__Output>
    WorkloadEndpoint: MessageTypeDefinition<_felix_WorkloadEndpoint, _felix_WorkloadEndpoint__Output>
    WorkloadEndpointID: MessageTypeDefinition<_felix_WorkloadEndpointID, _felix_WorkloadEndpointID__Output>
    WorkloadEndpointRemove: MessageTypeDefinition<_felix_WorkloadEndpointRemove, _felix_WorkloadEndpointRemove__Output>
    WorkloadEndpointUpdate: MessageTypeDefinition<_felix_WorkloadEndpointUpdate, _felix_WorkloadEndpointUpdate__Output>
  }
}

