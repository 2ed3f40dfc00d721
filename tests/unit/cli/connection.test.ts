import { IpPermission } from '@aws-sdk/client-ec2';
import { connectionOf, dashboardTunnelArgv, shellJoin, shellQuote, sshCommand } from '../../../lib/cli/connection';
import { opensToRange, reachabilityOf } from '../../../lib/cli/network-access';
import { machine } from './support';

const open = { ssh: true, dashboard: false };
const closed = { ssh: false, dashboard: false };

describe('connections', () => {
  const m = machine({ instanceId: 'i-0abc', label: 'alice', publicIp: '198.51.100.7' });

  test('direct SSH to the public IP when port 22 is open', () => {
    // WHEN
    const c = connectionOf(m, open, 'eu-west-1');
    // THEN
    expect(c).toEqual({ user: 'ubuntu', host: '198.51.100.7', viaSsm: false, instanceId: 'i-0abc', region: 'eu-west-1' });
    expect(sshCommand(c, 'alice.pem')).toBe('ssh -i alice.pem ubuntu@198.51.100.7');
    expect(shellJoin(dashboardTunnelArgv(c, { keyFile: 'alice.pem' }))).toBe('ssh -i alice.pem -N -L 8787:localhost:8787 ubuntu@198.51.100.7');
  });

  test('Session Manager when port 22 is closed, or the machine has no public IP', () => {
    const viaClosed = connectionOf(m, closed, 'eu-west-1');
    const viaNoIp = connectionOf(machine({ instanceId: 'i-0abc' }), open, 'eu-west-1');
    for (const c of [viaClosed, viaNoIp]) {
      expect(c.viaSsm).toBe(true);
      expect(sshCommand(c, 'alice.pem')).toBe(
        "ssh -i alice.pem -o ProxyCommand='aws ssm start-session --region eu-west-1 --target %h --document-name AWS-StartSSHSession --parameters portNumber=%p' ubuntu@i-0abc",
      );
      expect(shellJoin(dashboardTunnelArgv(c, { localPort: 9000 }))).toBe(
        'aws ssm start-session --region eu-west-1 --target i-0abc --document-name AWS-StartPortForwardingSession --parameters portNumber=8787,localPortNumber=9000',
      );
    }
  });

  test('an imported key: no -i', () => {
    expect(sshCommand(connectionOf(m, open, 'eu-west-1'))).toBe('ssh ubuntu@198.51.100.7');
  });

  test('shell quoting', () => {
    expect(shellQuote('plain-arg_1.pem')).toBe('plain-arg_1.pem');
    expect(shellQuote('with space')).toBe("'with space'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(shellQuote('ProxyCommand=a b')).toBe("ProxyCommand='a b'");
  });
});

describe('reachability from security group rules', () => {
  const rule = (p: Partial<IpPermission>): IpPermission => ({ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '203.0.113.0/24' }], ...p });

  test('a TCP rule covering the port from an address range opens it', () => {
    expect(opensToRange(rule({}), 22)).toBe(true);
    expect(opensToRange(rule({ FromPort: 0, ToPort: 65535 }), 8787)).toBe(true);
    expect(opensToRange(rule({ IpProtocol: '-1', FromPort: undefined, ToPort: undefined }), 8787)).toBe(true);
    expect(opensToRange(rule({ IpRanges: [], Ipv6Ranges: [{ CidrIpv6: '2001:db8::/32' }] }), 22)).toBe(true);
  });

  test('other ports, UDP, or rules that admit only security groups do not', () => {
    expect(opensToRange(rule({}), 8787)).toBe(false);
    expect(opensToRange(rule({ IpProtocol: 'udp' }), 22)).toBe(false);
    expect(opensToRange(rule({ IpRanges: [], UserIdGroupPairs: [{ GroupId: 'sg-member' }] }), 22)).toBe(false);
  });

  test('a machine is reachable when one of its groups opens the port and it has a public IP', () => {
    const ports = new Map([['sg-ssh', new Set([22])], ['sg-none', new Set<number>()]]);
    expect(reachabilityOf(machine({ instanceId: 'i-1', publicIp: '198.51.100.7', securityGroupIds: ['sg-none', 'sg-ssh'] }), ports)).toEqual({ ssh: true, dashboard: false });
    expect(reachabilityOf(machine({ instanceId: 'i-1', securityGroupIds: ['sg-ssh'] }), ports)).toEqual({ ssh: false, dashboard: false });
  });
});
