// Removes the unit tests' private temporary directory (see tmpdir-setup.js).
const fs = require('fs');

module.exports = async () => {
  const dir = process.env.DASKLAB_UNIT_TMPDIR;
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
};
