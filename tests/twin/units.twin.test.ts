import { assignAddresses } from './addresses';
import { adaptUserData, readParameters } from './deviations';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { zipAsCdkAssets } from './assets';
import { resolve } from './template';

/** The twin's own logic that needs no root: parameter rewrites, intrinsics, addresses. */
describe('twin internals', () => {
  const script = [
    '#!/bin/bash',
    '# >>> dasklab parameters',
    "DASKLAB_PYTHON_VERSION='3.12'",
    "DASKLAB_PIP_PACKAGES=('numpy' 'dask[complete]' 'it'\\''s')",
    "DASKLAB_PIP_INDEX_URL=''",
    "DASKLAB_VENV='/opt/dask/venv'",
    '# <<< dasklab parameters',
    'echo "$DASKLAB_VENV"',
  ].join('\n');

  test('the parameter block is rewritten as deviations.ts says, and nothing else', () => {
    const out = adaptUserData(script, { pipIndexUrl: 'http://idx/simple/', awsEndpointUrl: 'http://ec2' });
    const params = readParameters(out.script);
    expect(params.get('DASKLAB_PYTHON_VERSION')).toBe('3.13');
    expect(params.get('DASKLAB_PIP_PACKAGES')).toEqual(['numpy', 'dask[array,distributed]', "it's"]);
    expect(params.get('DASKLAB_PIP_INDEX_URL')).toBe('http://idx/simple/');
    expect(params.get('DASKLAB_VENV')).toBe('/opt/dask/venv');
    expect(params.has('DASKLAB_AWS_ENDPOINT_URL')).toBe(false);
    expect(out.script.split('\n').slice(-1)[0]).toBe('echo "$DASKLAB_VENV"');
    expect(out.changes).toHaveLength(3);
  });

  test('a user data without the parameter block is refused', () => {
    expect(() => adaptUserData('#!/bin/bash\necho hi\n', { pipIndexUrl: 'x', awsEndpointUrl: 'y' })).toThrow(/parameter/);
  });

  test('intrinsics resolve to twin values; unknown ones fail loudly', () => {
    const values = {
      region: 'us-east-1',
      stackName: 'dasklab-Machine',
      signalUrl: (h: string) => `http://sig/${h}`,
      privateIp: (id: string) => (id === 'M' ? '10.0.0.5' : ''),
    };
    expect(
      resolve({ 'Fn::Join': ['', ['a', { Ref: 'H' }, { Ref: 'AWS::Region' }, { 'Fn::GetAtt': ['M', 'PrivateIp'] }]] }, values),
    ).toBe('ahttp://sig/Hus-east-110.0.0.5');
    // The CDK's asset bucket: Fn::Sub over pseudo parameters, with the twin's account and region.
    expect(resolve({ 'Fn::Sub': 'cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}' }, values)).toBe('cdk-hnb659fds-assets-000000000000-us-east-1');
    expect(() => resolve({ 'Fn::Sub': 'x-${Bucket}' }, values)).toThrow(/does not know \$\{Bucket\}/);
    expect(() => resolve({ 'Fn::Sub': ['x-${V}', { V: 'y' }] }, values)).toThrow(/does not know/);
    expect(() => resolve({ 'Fn::GetAtt': ['M', 'PublicIp'] }, values)).toThrow(/does not know/);
  });

  test('fixed private IPs are kept, the others get free VPC addresses', () => {
    expect(assignAddresses([undefined], undefined)).toEqual([
      { serviceIp: '10.213.0.11', privateIp: '10.213.0.11', cidrs: ['10.213.0.11/24'] },
    ]);
    const a = assignAddresses(['10.40.0.100', undefined], '10.40.0.0/16');
    expect(a.map((x) => x.privateIp)).toEqual(['10.40.0.100', '10.40.0.101']);
    expect(a[1].cidrs).toEqual(['10.213.0.12/24', '10.40.0.101/16']);
    expect(() => assignAddresses(['10.99.0.1'], '10.40.0.0/16')).toThrow(/outside/);
  });

  test('a directory asset is zipped as cdk-assets zips it: every file (dot files too), its mode, no folder entries, 1980 dates', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-twin-zip-'));
    fs.mkdirSync(path.join(dir, 'src', 'data'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'src', 'a.ipynb'), '{}');
    fs.writeFileSync(path.join(dir, 'src', '.hidden'), 'h');
    fs.writeFileSync(path.join(dir, 'src', 'data', 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
    await zipAsCdkAssets(path.join(dir, 'src'), path.join(dir, 'out.zip'));
    const listing = execFileSync('python3', ['-c', 'import sys, zipfile\nfor i in zipfile.ZipFile(sys.argv[1]).infolist(): print(i.filename, oct(i.external_attr >> 16), i.date_time[0])', path.join(dir, 'out.zip')], { encoding: 'utf8' });
    expect(listing.trim().split('\n').sort()).toEqual(['.hidden 0o100644 1980', 'a.ipynb 0o100644 1980', 'data/run.sh 0o100755 1980']);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
