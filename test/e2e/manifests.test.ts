// The examples/istio manifests, checked as a cluster admin would apply them: every object passes
// a server-side dry-run on a real kube-apiserver with Istio's and our CRDs installed, and Istio's
// own validation (istioctl validate); istioctl renders our IstioOperator into the injector and
// mesh ConfigMaps, and Istio's real injector (kube-inject) turns the demo Deployments into pods
// that have dikastes wired to Envoy, with and without native sidecars.
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, onTestFinished } from 'vitest';
import { parse } from 'yaml';
import { describeWithE2eTools, findE2eTools } from '../harness/e2e-tools.js';
import { describeWithApiServer } from '../harness/envtest/api-server-gate.js';
import { makeTempDir } from '../harness/temp-dirs.js';
import {
  EXAMPLE_DIR,
  exampleFiles,
  exampleManifests,
  generateIstio,
  removeGenerated,
  installIstioCrds,
  istioctl,
  kubeInject,
  type GeneratedIstio,
} from './istio-example.js';
import { findContainer, mountsOf, podTemplateOf, type Container } from './pod-spec.js';
import { RawClient, type Manifest } from './raw-apply.js';

const tools = await findE2eTools();
const DIKASTES_ARGS = [
  'server',
  '-l',
  '/var/run/dikastes/dikastes.sock',
  '-d',
  '/var/run/felix/nodeagent/socket',
];
/** Not objects for the API server: istioctl's input. */
const ISTIOCTL_ONLY = new Set(['IstioOperator']);

describeWithE2eTools('examples/istio manifests', tools, (t) => {
  describeWithApiServer('examples/istio against the API server and istioctl', (api) => {
    let raw: RawClient;
    let generated: GeneratedIstio;
    let files: string[];

    beforeAll(async () => {
      const kc = api.kubeConfig();
      raw = new RawClient(kc);
      await installIstioCrds(kc, t);
      files = await exampleFiles();
      // Namespaces are created for real, so the namespaced objects in them can be dry-run;
      // istio-system is what `istioctl install` creates.
      const namespaces: Manifest[] = [
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'istio-system' } },
      ];
      for (const file of files)
        namespaces.push(...(await exampleManifests(file)).filter((o) => o.kind === 'Namespace'));
      for (const ns of namespaces) await raw.apply(ns);
      generated = await generateIstio(t, join(EXAMPLE_DIR, 'istio', 'istio-operator.yaml'));
    });

    afterAll(() => removeGenerated(generated));

    it('every object in every YAML file passes a server-side dry-run', async () => {
      const failures: string[] = [];
      let checked = 0;
      for (const file of files) {
        for (const obj of await exampleManifests(file)) {
          if (ISTIOCTL_ONLY.has(obj.kind)) continue;
          checked++;
          await raw
            .apply(obj, { dryRun: true })
            .catch((err: unknown) => failures.push(`${file}: ${String(err)}`));
        }
      }
      expect(failures).toEqual([]);
      expect(checked).toBeGreaterThanOrEqual(20);
    });

    it('every YAML file passes istioctl validate (Istio’s webhook checks)', async () => {
      const run = await istioctl(t, ['validate', ...files.flatMap((f) => ['-f', join(EXAMPLE_DIR, f)])]);
      expect(run.stderr + run.stdout).not.toMatch(/Error:/);
      expect(run.code).toBe(0);
    });

    it('istioctl validate does reject a CUSTOM policy that a dry-run lets through', async () => {
      // The check above can fail: a CUSTOM policy without a provider is schema-valid.
      const [policy] = await exampleManifests('wiring-custom/authorization-policy.yaml');
      const broken = structuredClone(policy) as Manifest & { spec: Record<string, unknown> };
      delete broken.spec['provider'];
      const dir = makeTempDir('alp-validate');
      onTestFinished(() => rm(dir, { recursive: true, force: true }));
      await writeFile(join(dir, 'broken.yaml'), JSON.stringify(broken));
      await raw.apply(broken, { dryRun: true });
      const run = await istioctl(t, ['validate', '-f', join(dir, 'broken.yaml')]);
      expect(run.code).not.toBe(0);
      expect(run.stderr + run.stdout).toMatch(/provider/);
    });

    it('manifest generate puts the dikastes template and the dikastes provider into the ConfigMaps', () => {
      const inject = parse(generated.injectConfig) as { templates: Record<string, string> };
      expect(Object.keys(inject.templates)).toEqual(expect.arrayContaining(['sidecar', 'dikastes']));
      expect(inject.templates['dikastes']).toContain('/var/run/felix/nodeagent/socket');
      const mesh = parse(generated.mesh) as {
        extensionProviders?: { name: string; envoyExtAuthzGrpc?: Record<string, unknown> }[];
      };
      expect(mesh.extensionProviders).toContainEqual({
        name: 'dikastes',
        envoyExtAuthzGrpc: {
          service: 'dikastes.calico.cluster.local',
          port: 1,
          timeout: '1s',
          failOpen: false,
          statusOnError: '403',
        },
      });
    });

    const injectHttpbin = async (annotations: Record<string, string>, env: Record<string, string> = {}) => {
      const deployment = (await exampleManifests('demo/httpbin.yaml')).find((o) => o.kind === 'Deployment');
      const input = structuredClone(deployment) as Manifest;
      const template = podTemplateOf(input);
      Object.assign(template.metadata.annotations ?? {}, annotations);
      const out = await kubeInject(t, generated, input, env);
      const injected = out.find((o) => o.kind === 'Deployment');
      if (injected === undefined) throw new Error('kube-inject returned no Deployment');
      return injected;
    };

    const expectDikastesWired = (injected: Manifest, proxy: Container | undefined) => {
      const pod = podTemplateOf(injected);
      const dikastes = findContainer(pod.spec.containers, 'dikastes');
      expect(dikastes?.args).toEqual(DIKASTES_ARGS);
      expect(mountsOf(dikastes)).toEqual({
        '/var/run/dikastes': 'dikastes-sock',
        '/var/run/felix': 'felix-sync',
      });
      expect(dikastes?.readinessProbe?.exec?.command).toEqual(['dikastes', 'health', 'readiness']);
      expect(proxy?.image).toMatch(/proxyv2/);
      expect(mountsOf(proxy)['/var/run/dikastes']).toBe('dikastes-sock');
      expect(pod.spec.volumes).toEqual(
        expect.arrayContaining([
          { name: 'dikastes-sock', emptyDir: { medium: 'Memory' } },
          { name: 'felix-sync', csi: { driver: 'csi.tigera.io' } },
        ]),
      );
      expect(pod.metadata.labels?.['alp-mesh.io/dikastes']).toBe('true');
      for (const c of [...pod.spec.containers, ...(pod.spec.initContainers ?? [])])
        expect(c.image).toBeTruthy();
    };

    it('kube-inject without native sidecars: istio-proxy is a container and mounts the dikastes socket', async () => {
      const injected = await injectHttpbin({});
      const pod = podTemplateOf(injected);
      expect(findContainer(pod.spec.initContainers, 'istio-proxy')).toBeUndefined();
      expectDikastesWired(injected, findContainer(pod.spec.containers, 'istio-proxy'));
      await raw.apply(injected, { dryRun: true });
    });

    it('kube-inject with native sidecars (pod annotation or istiod’s setting): istio-proxy is a restartable init container with the mount', async () => {
      for (const injected of [
        await injectHttpbin({ 'sidecar.istio.io/nativeSidecar': 'true' }),
        await injectHttpbin({}, { ENABLE_NATIVE_SIDECARS: 'true' }),
      ]) {
        const pod = podTemplateOf(injected);
        const proxy = findContainer(pod.spec.initContainers, 'istio-proxy');
        expect(proxy?.restartPolicy).toBe('Always');
        expect(findContainer(pod.spec.containers, 'istio-proxy')).toBeUndefined();
        expectDikastesWired(injected, proxy);
        await raw.apply(injected, { dryRun: true });
      }
    });

    it('kube-inject of the client adds only Istio’s sidecar', async () => {
      const deployment = (await exampleManifests('demo/curl.yaml')).find((o) => o.kind === 'Deployment');
      const [injected] = (await kubeInject(t, generated, deployment as Manifest)).filter(
        (o) => o.kind === 'Deployment',
      );
      const pod = podTemplateOf(injected as Manifest);
      expect(findContainer(pod.spec.containers, 'dikastes')).toBeUndefined();
      expect(findContainer(pod.spec.containers, 'istio-proxy')).toBeDefined();
    });
  });
});
