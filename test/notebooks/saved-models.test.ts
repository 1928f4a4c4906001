/**
 * Saved models inside a real tslab kernel, through the runner: the fixture notebook
 * saved-models.ipynb saves a tiny model, loads it into a fresh one (other initial weights,
 * equal predictions after the load), and has a load with another setting refused with the
 * message that names the difference and how to retrain. The runner hands the kernel the folder
 * (modelsDir -> GAN_NOTEBOOKS_MODELS_DIR), so nothing lands in build/models.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { readNotebook, REPO_ROOT, runNotebooks } from '../../tools';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'saved-models-kernel-'));
const modelsDir = path.join(scratch, 'models');
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

describe('saved models in a tslab kernel', () => {
  it("saves into the runner's models folder, loads back exactly, and refuses other settings", async () => {
    const summary = await runNotebooks({
      notebooksDir: path.join(REPO_ROOT, 'test', 'fixtures', 'notebooks'),
      profile: 'smoke',
      only: ['saved-models'],
      modelsDir,
      outDir: path.join(scratch, 'out'),
    });
    const result = summary.notebooks[0];
    assert.equal(result.status, 'ok', result.report);
    const text = readNotebook(result.executedPath)
      .cells.flatMap((cell) => (cell as { outputs?: Array<{ text?: string | string[] }> }).outputs ?? [])
      .map((output) => (Array.isArray(output.text) ? output.text.join('') : (output.text ?? '')))
      .join('');
    assert.ok(text.includes(`saved to ${path.join(modelsDir, 'saved-models')}\n`), text);
    assert.ok(fs.existsSync(path.join(modelsDir, 'saved-models', 'model', 'model.json')));
    const line = (label: string) => new RegExp(`${label} predicts (.+)`).exec(text)?.[1];
    assert.ok(line('trained'), text);
    assert.notEqual(line('fresh'), line('trained'), 'the fresh model starts with other weights');
    assert.equal(line('loaded'), line('trained'), 'after the load it predicts as the saved model');
    assert.match(
      text,
      new RegExp(
        /refused: SavedModelsError: Saved models of saved-models: the settings differ/.source +
          /[^]*units: 4 in the save, 5 now[^]*reuseTrained = false/.source,
      ),
    );
  });
});
