/**
 * Image grids, the three-row code figure and the latent manifold: the PNG decodes to the expected size, with the
 * expected gray levels at known places, digits enlarged by whole blocks (nearest neighbour).
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { createCanvas, loadImage } from 'canvas';
import { tf } from '../../lib';
import {
  codeFigure,
  codeFigureLayout,
  gridLayout,
  imageGrid,
  latentGridPoints,
  latentManifoldImage,
} from '../../lib/viz';

interface Decoded {
  width: number;
  height: number;
  /** Red channel (the images are gray) at (x, y). */
  level(x: number, y: number): number;
  /** Every pixel of the rectangle has this level. */
  blockIs(x: number, y: number, w: number, h: number, level: number): boolean;
}

async function decodePng(png: Buffer): Promise<Decoded> {
  const image = await loadImage(png);
  const canvas = createCanvas(image.width, image.height);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(image, 0, 0);
  const rgba = ctx.getImageData(0, 0, image.width, image.height).data;
  const level = (x: number, y: number) => rgba[(y * image.width + x) * 4];
  return {
    width: image.width,
    height: image.height,
    level,
    blockIs(x, y, w, h, value) {
      for (let yy = y; yy < y + h; yy++) for (let xx = x; xx < x + w; xx++) if (level(xx, yy) !== value) return false;
      return true;
    },
  };
}

const SIDE = 28;

describe('imageGrid', () => {
  it('draws tanh images as crisp blocks: 1 is white, -1 is black, in a grid of the documented size', async () => {
    // Image 0: black with one white pixel at row 5, col 7. Image 1: all white. Images 2, 3: black.
    const images = new Float32Array(4 * SIDE * SIDE).fill(-1);
    images[5 * SIDE + 7] = 1;
    images.fill(1, SIDE * SIDE, 2 * SIDE * SIDE);
    const png = imageGrid(images, { rows: 2, cols: 3, range: 'tanh', captions: ['one dot', 'white'] });
    const picture = await decodePng(png);
    // 3 cells of 28*3 = 84 pixels, 4 gaps of 2; rows of 84 + an 18-pixel caption strip, 3 gaps.
    assert.equal(picture.width, 3 * 84 + 4 * 2);
    assert.equal(picture.height, 2 * (84 + 18) + 3 * 2);
    const layout = gridLayout({ rows: 2, cols: 3, range: 'tanh', captions: ['one dot', 'white'] });
    assert.deepEqual(
      [layout.width, layout.height, layout.cellSize, layout.captionHeight],
      [picture.width, picture.height, 84, 18],
    );

    const gap = 2;
    assert.equal(picture.level(0, 0), 255, 'white background in the gaps');
    assert.ok(picture.blockIs(gap + 7 * 3, gap + 5 * 3, 3, 3, 255), 'the white pixel becomes a 3x3 white block');
    assert.equal(picture.level(gap + 7 * 3 - 1, gap + 5 * 3), 0, 'its left neighbour stays black');
    assert.equal(picture.level(gap + 8 * 3, gap + 5 * 3), 0, 'its right neighbour stays black');
    assert.ok(picture.blockIs(gap, gap, 84, 5 * 3, 0), 'the rows above it are black');
    const secondCellX = gap + 84 + gap;
    assert.ok(picture.blockIs(secondCellX, gap, 84, 84, 255), 'image 1 is all white');
    assert.equal(picture.level(secondCellX - 1, gap + 40), 255, 'gap between cells');
    const secondRowY = gap + 84 + 18 + gap;
    assert.ok(picture.blockIs(gap, secondRowY, 84, 84, 0), 'image 3 (second row) is black');
    assert.ok(
      picture.blockIs(gap + 2 * (84 + gap), secondRowY, 84, 84, 255),
      'the empty 6th cell shows the background',
    );

    // Captions: dark text in the strip under the captioned cells, nothing under the others.
    const darkPixelsUnder = (col: number, row: number) => {
      const { x, y } = layout.cellOrigin(row, col);
      let dark = 0;
      for (let yy = y + 84; yy < y + 84 + 18; yy++)
        for (let xx = x; xx < x + 84; xx++) if (picture.level(xx, yy) < 128) dark++;
      return dark;
    };
    assert.ok(darkPixelsUnder(0, 0) > 10, 'caption under cell 0');
    assert.ok(darkPixelsUnder(1, 0) > 10, 'caption under cell 1');
    assert.equal(darkPixelsUnder(2, 0), 0, 'no caption under cell 2');
  });

  it('maps unit and byte ranges to gray levels and clamps out-of-range values', async () => {
    const unit = new Float32Array(SIDE * SIDE).fill(0.5);
    unit[0] = 1.7;
    unit[1] = -0.2;
    const picture = await decodePng(imageGrid(unit, { rows: 1, cols: 1, range: 'unit', scale: 1, gap: 0 }));
    assert.deepEqual([picture.width, picture.height], [SIDE, SIDE]);
    assert.deepEqual([picture.level(0, 0), picture.level(1, 0), picture.level(2, 0)], [255, 0, 128]);
    const bytes = new Uint8Array(SIDE * SIDE).fill(200);
    const bytePicture = await decodePng(imageGrid(bytes, { rows: 1, cols: 1, range: 'byte', scale: 2, gap: 1 }));
    assert.equal(bytePicture.width, 2 * SIDE + 2);
    assert.equal(bytePicture.level(1, 1), 200);
  });

  it('reads a tensor without disposing it or leaking', async () => {
    const before = tf.memory().numTensors;
    const images = tf.tidy(() => tf.concat([tf.ones([1, SIDE, SIDE, 1]), tf.zeros([1, SIDE, SIDE, 1])]));
    const picture = await decodePng(imageGrid(images, { rows: 1, cols: 2, range: 'unit', scale: 1, gap: 0 }));
    assert.equal(images.isDisposed, false, "the caller's tensor is left alone");
    assert.equal(picture.level(0, 0), 255);
    assert.equal(picture.level(SIDE, 0), 0);
    images.dispose();
    assert.equal(tf.memory().numTensors, before);
  });

  it('explains inputs that do not fit', () => {
    assert.throws(
      () => imageGrid(new Float32Array(100), { rows: 1, cols: 1, range: 'unit' }),
      /images holds 100 values, not a whole number of 28x28 images/,
    );
    assert.throws(
      () => imageGrid(new Float32Array(3 * SIDE * SIDE), { rows: 1, cols: 2, range: 'unit' }),
      /3 images do not fit 1 rows x 2 cols = 2 cells/,
    );
    assert.throws(
      () => imageGrid([], { rows: 0, cols: 2, range: 'unit' }),
      /options\.rows must be a whole number >= 1, got 0/,
    );
    const badRange = new RegExp(
      String.raw`imageGrid: options\.range must be 'tanh' \(\[-1, 1\]\), 'unit' \(\[0, 1\]\) ` +
        String.raw`or 'byte' \(\[0, 255\]\); got "percent"`,
    );
    assert.throws(() => imageGrid([], { rows: 1, cols: 1, range: 'percent' as 'unit' }), badRange);
  });
});

describe('latentManifoldImage', () => {
  const box = { xMin: -2, xMax: 2, yMin: -1, yMax: 3 };

  it('lays the grid out in reading order with yMax at the top', () => {
    const z = latentGridPoints(box, 3);
    assert.deepEqual(Array.from(z), [-2, 3, 0, 3, 2, 3, -2, 1, 0, 1, 2, 1, -2, -1, 0, -1, 2, -1]);
    assert.throws(() => latentGridPoints({ ...box, xMax: -3 }, 3), /xMin < xMax/);
    assert.throws(() => latentGridPoints(box, 1), /steps must be a whole number >= 2/);
  });

  it('decodes every grid point into its cell: brightness follows x in the top half, y in the bottom half', async () => {
    const steps = 5;
    let calls = 0;
    // A stand-in decoder: top half of each image = x scaled to [0, 1], bottom half = y scaled.
    const decode = (z: Float32Array) => {
      calls++;
      const m = z.length / 2;
      const out = new Float32Array(m * SIDE * SIDE);
      for (let i = 0; i < m; i++) {
        const top = (z[2 * i] - box.xMin) / (box.xMax - box.xMin);
        const bottom = (z[2 * i + 1] - box.yMin) / (box.yMax - box.yMin);
        out.fill(top, i * SIDE * SIDE, i * SIDE * SIDE + (SIDE * SIDE) / 2);
        out.fill(bottom, i * SIDE * SIDE + (SIDE * SIDE) / 2, (i + 1) * SIDE * SIDE);
      }
      return Promise.resolve(out);
    };
    const picture = await decodePng(await latentManifoldImage(decode, { box, steps, scale: 2 }));
    assert.equal(calls, 1, '25 points in one call');
    assert.deepEqual([picture.width, picture.height], [steps * SIDE * 2, steps * SIDE * 2]);
    const cell = SIDE * 2;
    for (let row = 0; row < steps; row++) {
      for (let col = 0; col < steps; col++) {
        const xLevel = Math.round((col / (steps - 1)) * 255);
        const yLevel = Math.round((1 - row / (steps - 1)) * 255);
        assert.ok(picture.blockIs(col * cell, row * cell, cell, cell / 2, xLevel), `cell ${row},${col} top`);
        assert.ok(
          picture.blockIs(col * cell, row * cell + cell / 2, cell, cell / 2, yLevel),
          `cell ${row},${col} bottom`,
        );
      }
    }
  });

  it('names a decoder that returns the wrong number of values', async () => {
    await assert.rejects(
      latentManifoldImage(() => new Float32Array(10), { box, steps: 2 }),
      /decode returned 10 values for 4 points; expected 3136/,
    );
  });
});

describe('codeFigure', () => {
  // Three columns: image k is all white in column k's own block of rows (k*9..k*9+8), black
  // elsewhere; its reconstruction is the image turned upside down; code k has one value, at index k.
  const count = 3;
  const codeLength = 4;
  const images = new Float32Array(count * SIDE * SIDE);
  const rebuilt = new Float32Array(count * SIDE * SIDE);
  for (let k = 0; k < count; k++) {
    for (let row = k * 9; row < k * 9 + 9; row++) {
      images.fill(1, k * SIDE * SIDE + row * SIDE, k * SIDE * SIDE + (row + 1) * SIDE);
      rebuilt.fill(1, k * SIDE * SIDE + (SIDE - 1 - row) * SIDE, k * SIDE * SIDE + (SIDE - row) * SIDE);
    }
  }
  const codes = [
    [2, 0, 0, 0],
    [0, 3, 0, 0],
    [0, 0, 4, 0],
  ];
  const options = { captions: ['a', 'b', 'c'], scale: 2 };

  it('lines up one column per image: the image, its stems and its reconstruction share x', async () => {
    const picture = await decodePng(codeFigure(images, codes, rebuilt, options));
    const layout = codeFigureLayout(count, codeLength, options);
    assert.deepEqual([picture.width, picture.height], [layout.width, layout.height]);
    const cell = SIDE * 2;
    for (let k = 0; k < count; k++) {
      const x = layout.columnX(k);
      assert.ok(picture.blockIs(x, layout.imageY + k * 18, cell, 18, 255), `image ${k}: its white band in column ${k}`);
      assert.ok(
        picture.blockIs(x, layout.rebuiltY + cell - (k + 1) * 18, cell, 18, 255),
        `reconstruction ${k}: its band, upside down`,
      );
      const bandRows = layout.imageY + ((k + 1) % count) * 18;
      assert.ok(picture.blockIs(x, bandRows, cell, 18, 0), `image ${k}: black where another image is white`);
      // Stem k of column k rises above the baseline; the same stem in the other columns does not.
      for (let other = 0; other < count; other++) {
        const stemX = layout.stemX(other, k);
        const levelAboveBaseline = picture.level(stemX, layout.stemY + layout.stemHeight - 12);
        if (other === k)
          assert.ok(levelAboveBaseline < 150, `column ${k}: stem ${k} drawn (level ${levelAboveBaseline})`);
        else assert.ok(levelAboveBaseline > 200, `column ${other}: no stem ${k} (level ${levelAboveBaseline})`);
      }
    }
    // One vertical scale for all: the stem of 4 reaches higher than the stem of 2.
    const topOf = (k: number) => {
      for (let y = layout.stemY; y < layout.stemY + layout.stemHeight; y++)
        if (picture.level(layout.stemX(k, k), y) < 150) return y;
      return Infinity;
    };
    assert.ok(topOf(2) < topOf(1) && topOf(1) < topOf(0), `stem tops ${topOf(0)}, ${topOf(1)}, ${topOf(2)}`);
  });

  it('takes the codes as a 2-D tensor too, and names mismatched inputs', () => {
    const codeTensor = tf.tensor2d(codes);
    assert.deepEqual(codeFigure(images, codeTensor, rebuilt, options), codeFigure(images, codes, rebuilt, options));
    codeTensor.dispose();
    assert.throws(
      () => codeFigure(images, codes.slice(0, 2), rebuilt),
      /one code and one reconstruction per image; got 3 images, 2 codes and 3 reconstructions/,
    );
    assert.throws(() => codeFigure(images, [[1], [1, 2], [1]], rebuilt), /codes\[0\] has 1 values, codes\[1\] has 2/);
    assert.throws(() => codeFigure(images, [[1], [NaN], [1]], rebuilt), /codes\[1\]\[0\] is NaN/);
    assert.throws(() => codeFigure(images.subarray(1), codes, rebuilt), /codeFigure: images holds 2351 values/);
  });
});
