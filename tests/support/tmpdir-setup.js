// Gives the unit tests a private temporary directory (os.tmpdir() in every
// worker), so that scratch files and the CDK's own assembly directories are
// removed after the run by tmpdir-teardown.js.
const fs = require('fs');
const os = require('os');
const path = require('path');

module.exports = async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-unit-'));
  process.env.DASKLAB_UNIT_TMPDIR = dir;
  process.env.TMPDIR = dir;
};
