// The parts of a pod spec the checks and the kubelet stand-in read, as plain JSON from the
// manifests and from `istioctl kube-inject` output.
import type { Manifest } from './raw-apply.js';

export interface VolumeMount {
  readonly name: string;
  readonly mountPath: string;
  readonly readOnly?: boolean;
}

export interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: { readonly fieldRef?: { readonly fieldPath: string } };
}

export interface Probe {
  readonly exec?: { readonly command: string[] };
  readonly httpGet?: { readonly host?: string; readonly port: number | string; readonly path?: string };
}

export interface Container {
  readonly name: string;
  readonly image?: string;
  readonly command?: string[];
  readonly args?: string[];
  readonly env?: EnvVar[];
  readonly volumeMounts?: VolumeMount[];
  readonly readinessProbe?: Probe;
  readonly restartPolicy?: string;
  readonly securityContext?: Record<string, unknown>;
}

export interface Volume {
  readonly name: string;
  readonly emptyDir?: { readonly medium?: string };
  readonly hostPath?: { readonly path: string; readonly type?: string };
  readonly csi?: { readonly driver: string };
  readonly [other: string]: unknown;
}

export interface PodSpec {
  readonly serviceAccountName?: string;
  readonly hostNetwork?: boolean;
  readonly containers: Container[];
  readonly initContainers?: Container[];
  readonly volumes?: Volume[];
}

export interface PodTemplate {
  readonly metadata: {
    readonly labels?: Record<string, string>;
    readonly annotations?: Record<string, string>;
  };
  readonly spec: PodSpec;
}

/** The pod template of a Deployment or DaemonSet manifest. */
export function podTemplateOf(workload: Manifest): PodTemplate {
  const spec = workload['spec'] as { template?: PodTemplate } | undefined;
  if (spec?.template === undefined)
    throw new Error(`${workload.kind} ${workload.metadata.name} has no pod template`);
  return spec.template;
}

export function findContainer(list: readonly Container[] | undefined, name: string): Container | undefined {
  return (list ?? []).find((c) => c.name === name);
}

export function mountsOf(c: Container | undefined): Record<string, string> {
  return Object.fromEntries((c?.volumeMounts ?? []).map((m) => [m.mountPath, m.name]));
}
