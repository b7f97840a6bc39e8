// Baked Docker images of one app and environment: found by the labels Packer writes
// (bakery.app, bakery.env, bakery.fingerprint), tagged bakery/APP-ENV:FINGERPRINT12.

import type { LocalEnvironment } from '../../config/schema.ts';
import type { StageIO } from '../../context.ts';
import { DeployError, UsageError } from '../../errors.ts';
import { decideBaseLayerRetention, decideRetention } from '../../state/retention.ts';
import type { ImageRef, ImageStore } from '../target.ts';
import { docker } from './docker.ts';
import { dockerImages, dockerInspect, dockerPs, dockerRm, dockerRmi, dockerTag } from './docker-commands.ts';
import { LABEL, ownerFilters } from './names.ts';
import type { LocalScope } from './scope.ts';

interface ImageRow {
  id: string;
  fingerprint: string;
  /** base, app or all (packer/app.pkr.hcl's bakery.layer; images baked before layers have none). */
  layer: string;
  /** The image it was baked on: for an app layer, its base layer's id. */
  builtFrom: string;
  gitRevision: string;
  createdAt: string;
  tags: string[];
}

async function listImages(io: StageIO, env: LocalEnvironment, extraFilters: string[] = []): Promise<ImageRow[]> {
  const out = await docker(io, dockerImages({ filters: [...ownerFilters(env), ...extraFilters], format: '{{.ID}}' }));
  const ids = [...new Set(out.split('\n').filter(Boolean))];
  if (ids.length === 0) return [];
  const details = await docker(
    io,
    dockerInspect({
      kind: 'image',
      format: `{{.Id}}|{{index .Config.Labels "${LABEL.fingerprint}"}}|{{.Created}}|{{json .RepoTags}}|{{index .Config.Labels "${LABEL.gitRevision}"}}|{{index .Config.Labels "${LABEL.layer}"}}|{{index .Config.Labels "${LABEL.builtFrom}"}}`,
      names: ids,
    }),
  );
  return (
    details
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [id = '', fingerprint = '', createdAt = '', tags = 'null', gitRevision = '', layer = '', builtFrom = ''] =
          line.split('|');
        const repoTags = (JSON.parse(tags) as string[] | null) ?? [];
        return { id, fingerprint, gitRevision, createdAt, tags: repoTags, layer, builtFrom };
      })
      // Newest first; ISO timestamps sort as strings.
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
  );
}

/** What `docker rmi` takes: every tag (removing the last deletes the image), or the id of an untagged one. */
function rmiReferences(row: ImageRow): string[] {
  return row.tags.length > 0 ? row.tags : [row.id];
}

function describeImage(row: ImageRow): string {
  return `${row.layer === 'base' ? 'base layer' : 'image'} ${row.tags[0] ?? row.id}`;
}

function toRef(row: ImageRow): ImageRef {
  return {
    id: row.id,
    fingerprint: row.fingerprint,
    createdAt: row.createdAt,
    ...(row.gitRevision ? { gitRevision: row.gitRevision } : {}),
    ...(row.tags[0] ? { name: row.tags[0] } : {}),
  };
}

export function localImageStore({ env, names }: LocalScope): ImageStore {
  return {
    async findByFingerprint(io, fingerprint) {
      const [newest] = await listImages(io, env, [`label=${LABEL.fingerprint}=${fingerprint}`]);
      return newest ? toRef(newest) : undefined;
    },

    async resolve(io, id) {
      const result = await io.run({
        ...dockerInspect({
          kind: 'image',
          format: `{{.Id}}|{{index .Config.Labels "${LABEL.fingerprint}"}}|{{index .Config.Labels "${LABEL.app}"}}|{{index .Config.Labels "${LABEL.gitRevision}"}}`,
          names: [id],
        }),
        quiet: true,
        okExitCodes: [1],
      });
      if (result.exitCode !== 0)
        throw new UsageError(`--image ${JSON.stringify(id)}: no such Docker image`, [
          'list baked images with: docker images --filter label=bakery.app',
        ]);
      const [imageId = '', fingerprint = '', app = '', gitRevision = ''] = result.stdout.trim().split('|');
      if (!fingerprint || app !== env.app) {
        throw new UsageError(
          `--image ${JSON.stringify(id)} was not baked by bakery for app ${env.app} (it has no ${LABEL.fingerprint} label for this app)`,
        );
      }
      return { id: imageId, fingerprint, name: id, ...(gitRevision ? { gitRevision } : {}) };
    },

    async adopt(io, artifactId, fingerprint) {
      const tag = `${names.imageRepository}:${fingerprint.slice(0, 12)}`;
      await docker(io, dockerTag(artifactId, tag));
      const labelled = await docker(
        io,
        dockerInspect({
          kind: 'image',
          format: `{{index .Config.Labels "${LABEL.fingerprint}"}}`,
          names: [artifactId],
        }),
      );
      if (labelled !== fingerprint) {
        throw new DeployError(
          `the baked image ${artifactId} carries fingerprint label ${JSON.stringify(labelled)}, expected ${fingerprint}`,
          ['check the LABEL changes of source "docker" "app" in packer/'],
        );
      }
      return { id: artifactId, fingerprint, name: tag };
    },

    async prune(io, { keep, inUse, history }) {
      const rows = await listImages(io, env);
      const byId = new Map(rows.map((row) => [row.id, row]));
      const images = rows.filter((row) => row.layer !== 'base');
      const decision = decideRetention(images, { keep, inUse: inUse.id, history });
      // Images first: Docker removes no base layer that an image still stands on.
      const keptBuiltFrom = new Set(decision.keep.map(({ id }) => byId.get(id)?.builtFrom ?? ''));
      const bases = decideBaseLayerRetention(
        rows.filter((row) => row.layer === 'base'),
        keptBuiltFrom,
        keep,
      );
      const removed: string[] = [];
      for (const { id, reason } of [...decision.prune, ...bases.prune]) {
        const row = byId.get(id) as ImageRow;
        io.progress(`removing ${describeImage(row)} (${reason})`);
        const result = await io.run({
          ...dockerRmi(rmiReferences(row)),
          quiet: true,
          okExitCodes: [1],
        });
        if (result.exitCode === 0) removed.push(`${describeImage(row)} (${reason})`);
        else io.warn(`could not remove ${describeImage(row)}: ${result.stderr.trim()}`);
      }
      return removed;
    },

    async removeLeakedBuilders(io) {
      // packer/app.pkr.hcl labels its build container role=builder (run_command).
      const out = await docker(
        io,
        dockerPs({
          all: true,
          filters: [...ownerFilters(env), `label=${LABEL.role}=builder`],
          format: '{{.Names}} ({{.State}})',
        }),
      );
      const leaked = out.split('\n').filter(Boolean);
      for (const line of leaked) {
        await docker(io, dockerRm(line.split(' ')[0] as string, { volumes: true }));
      }
      return leaked.map((line) => `builder container ${line}`);
    },

    async removeAll(io) {
      const rows = await listImages(io, env);
      for (const row of rows) {
        await docker(io, dockerRmi(rmiReferences(row)), { cleanup: true });
      }
      return rows.map(describeImage);
    },
  };
}
