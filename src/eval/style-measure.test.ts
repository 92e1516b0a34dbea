import { test } from 'node:test';
import assert from 'node:assert/strict';
import { styleMeasureSpec, gatysKey, modelLabel } from './style-measure.js';
import { lossProfile } from '../losses/profiles.js';

const quiet = () => {};
const RUN = { precision: 'float32', seed: 0, init: 'noise', iterations: 150 };

test("a card trained with the profile keeps its λs, one per layer; another card gets the profile's defaults", () => {
  const p = lossProfile('paper-vgg19');
  const own = styleMeasureSpec({ lossProfile: 'paper-vgg19', styleImage: 'udnie.jpg', styleSize: 192, lambda: { content: 1, style: 2e-5, tv: 3e-6 } }, 'models/udnie', 256, 'paper-vgg19', quiet);
  assert.deepEqual(own.overrides, { contentWeight: [1], styleWeights: p.style.styleLayers.map(() => 2e-5), tvWeight: 3e-6 });
  assert.equal(own.styleSize, 192);
  assert.match(own.lambdaNote, /the card's λs/);
  const other = styleMeasureSpec({ lossProfile: 'vgg19-conv3', styleImage: 'udnie.jpg', lambda: { content: 1, style: [9, 9, 9], tv: 9 } }, 'models/old', 256, 'paper-vgg19', quiet);
  const defaults = p.style.styleWeights;
  assert.deepEqual(other.overrides.styleWeights, typeof defaults === 'number' ? p.style.styleLayers.map(() => defaults) : [...defaults]);
  assert.equal(other.overrides.tvWeight, p.style.tvWeight);
  assert.equal(other.styleSize, 256);
  assert.match(other.lambdaNote, /default λs \(the network was trained with vgg19-conv3\)/);
});

test('equal losses give equal Gatys keys whichever way the card wrote its λs; any change gives another key', () => {
  const n = lossProfile('paper-vgg19').style.styleLayers.length;
  const scalar = styleMeasureSpec({ lossProfile: 'paper-vgg19', styleImage: 's.jpg', lambda: { content: 1, style: 3e-5, tv: 1e-6 } }, 'a', 256, 'paper-vgg19', quiet);
  const array = styleMeasureSpec({ lossProfile: 'paper-vgg19', styleImage: 's.jpg', lambda: { content: [1], style: Array(n).fill(3e-5), tv: 1e-6 } }, 'b', 256, 'paper-vgg19', quiet);
  assert.equal(gatysKey(scalar, '/x/photo.jpg', 256, RUN), gatysKey(array, '/y/photo.jpg', 256, RUN));
  assert.notEqual(gatysKey(scalar, 'photo.jpg', 256, RUN), gatysKey(scalar, 'photo.jpg', 320, RUN));
  assert.notEqual(gatysKey(scalar, 'photo.jpg', 256, RUN), gatysKey(scalar, 'photo.jpg', 256, { ...RUN, iterations: 100 }));
  // a projected run (pixels kept in 0–255) is another result than an unconstrained one; unconstrained is the old key
  assert.notEqual(gatysKey(scalar, 'photo.jpg', 256, RUN), gatysKey(scalar, 'photo.jpg', 256, { ...RUN, clampPixels: true }));
  assert.equal(gatysKey(scalar, 'photo.jpg', 256, RUN), gatysKey(scalar, 'photo.jpg', 256, { ...RUN, clampPixels: false }));
  const tv = styleMeasureSpec({ lossProfile: 'paper-vgg19', styleImage: 's.jpg', lambda: { content: 1, style: 3e-5, tv: 2e-6 } }, 'c', 256, 'paper-vgg19', quiet);
  assert.notEqual(gatysKey(scalar, 'photo.jpg', 256, RUN), gatysKey(tv, 'photo.jpg', 256, RUN));
});

test('errors name the model and what is wrong; an unknown profile falls back to the card\'s, said once', () => {
  assert.throws(() => styleMeasureSpec({ lossProfile: 'paper-vgg19' }, 'models/x', 256, 'paper-vgg19', quiet), /models\/x: the card names no styleImage/);
  assert.throws(() => styleMeasureSpec({ lossProfile: 'paper-vgg19', styleImage: 's.jpg', lambda: { content: 1, style: [1, 2], tv: 0 } }, 'models/y', 256, 'paper-vgg19', quiet), /models\/y: 2 style λs for 4 layers \(relu1_2, relu2_2, relu3_3, relu4_3\) of profile paper-vgg19/);
  const said: string[] = [];
  const spec = styleMeasureSpec({ lossProfile: 'vgg19-conv3', styleImage: 's.jpg', lambda: { content: 1, style: 4e-5, tv: 1e-6 } }, 'models/z', 256, 'no-such-profile', (m) => said.push(m));
  assert.equal(spec.profile, 'vgg19-conv3');
  assert.match(spec.lambdaNote, /the card's λs/);
  assert.equal(said.length, 1);
  assert.match(said[0]!, /unknown loss profile 'no-such-profile'.*measuring models\/z with its card's profile vgg19-conv3/);
});

test('modelLabel: the folder name, with the parent only where two folders share it', () => {
  const dirs = ['/r/a/model', '/r/b/model', '/m/starry-night'];
  assert.equal(modelLabel('/r/a/model', dirs), 'a/model');
  assert.equal(modelLabel('/r/b/model', dirs), 'b/model');
  assert.equal(modelLabel('/m/starry-night', dirs), 'starry-night');
  assert.equal(modelLabel('/r/a/model', ['/r/a/model']), 'model');
});
