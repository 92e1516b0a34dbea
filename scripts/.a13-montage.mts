import sharp from 'sharp';
const files = process.argv.slice(3);
const imgs = await Promise.all(files.map((f) => sharp(f).toBuffer({ resolveWithObject: true })));
const w = imgs.reduce((a, i) => a + i.info.width, 0), h = Math.max(...imgs.map((i) => i.info.height));
let x = 0;
const comp = imgs.map((i) => { const c = { input: i.data, left: x, top: 0 }; x += i.info.width; return c; });
await sharp({ create: { width: w, height: h, channels: 3, background: 'white' } }).composite(comp).png().toFile(process.argv[2]!);
