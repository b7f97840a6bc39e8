// Where bakery's own baked files (packer/, ansible/, launcher/ and the bundled demo in
// service/) are: the project directory when it is a bakery checkout (or a copy of one,
// as the tests make), otherwise the bakery installation this runner belongs to, so that a
// deploy.yaml in the user's own directory needs nothing of bakery's next to it.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BAKERY_ROOT } from '../install.ts';

export function bakeryHome(projectRoot: string): string {
  return existsSync(join(projectRoot, 'packer', 'app.pkr.hcl')) ? projectRoot : BAKERY_ROOT;
}
