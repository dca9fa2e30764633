import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { KubeApiError, KubeClient } from './kube-http.ts';
import { ListWatch, type ListWatchHandlers } from './list-watch.ts';
import { FakeApiServer, type FakeHandler } from './testing/fake-api-server.ts';

const pod = (name: string, rv = '1') => ({ metadata: { name, namespace: 'ns', uid: `uid-${name}`, resourceVersion: rv } });
const list = (items: unknown[], rv: string, cont?: string) =>
  JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: rv, ...(cont ? { continue: cont } : {}) }, items });
const line = (type: string, object: unknown) => `${JSON.stringify({ type, object })}\n`;

/** Records what a ListWatch hands on. */
function recorder() {
  const log: string[] = [];
  const errors: unknown[] = [];
  const handlers: ListWatchHandlers = {
    onListStart: (relist) => log.push(relist ? 'relist' : 'list'),
    onListItem: (item) => log.push(`item ${(item as { metadata: { name: string } }).metadata.name}`),
    onListEnd: (rv) => log.push(`end ${rv}`),
    onEvent: (type, o) => log.push(`${type} ${(o as { metadata: { name: string } }).metadata.name}`),
    onError: (e) => errors.push(e),
  };
  return { log, errors, handlers };
}

describe('ListWatch against a real HTTP server', () => {
  let api: FakeApiServer | undefined;
  let lw: ListWatch | undefined;
  afterEach(async () => {
    await lw?.stop();
    await api?.close();
    lw = undefined;
    api = undefined;
  });

  async function setup(handler: FakeHandler, opts: { token?: string; retryDelayMs?: number; pageSize?: number } = {}) {
    api = new FakeApiServer();
    api.handler = handler;
    const server = await api.listen();
    const rec = recorder();
    lw = new ListWatch(new KubeClient(api.kubeConfig(server, opts.token ?? 'sekret')), '/api/v1/pods', rec.handlers, {
      pageSize: opts.pageSize ?? 2,
      retryDelayMs: opts.retryDelayMs ?? 20,
    });
    lw.start();
    return { api, lw, ...rec };
  }

  const holdWatch = (res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.flushHeaders();
  };

  it('lists page by page with limit and continue, then watches from the list resourceVersion with bookmarks', async () => {
    const pages: Record<string, string> = {
      '': list([pod('a'), pod('b')], '10', 'p2'),
      p2: list([pod('c'), pod('d')], '10', 'p3'),
      p3: list([pod('e')], '10'),
    };
    const { api, log, errors } = await setup((_req, res, url) => {
      if (url.searchParams.get('watch') === 'true') return holdWatch(res);
      res.writeHead(200, { 'content-type': 'application/json' }).end(pages[url.searchParams.get('continue') ?? '']);
    });
    await vi.waitFor(() => expect(api.watches()).toHaveLength(1));
    expect(log).toEqual(['list', 'item a', 'item b', 'item c', 'item d', 'item e', 'end 10']);
    expect(api.lists()).toEqual(['/api/v1/pods?limit=2', '/api/v1/pods?continue=p2&limit=2', '/api/v1/pods?continue=p3&limit=2']);
    const watch = new URL(api.watches()[0]!, 'http://x').searchParams;
    expect(watch.get('resourceVersion')).toBe('10');
    expect(watch.get('allowWatchBookmarks')).toBe('true');
    expect(Number(watch.get('timeoutSeconds'))).toBeGreaterThan(0);
    expect(errors).toEqual([]);
  });

  it('sends the bearer token of the kubeconfig with every request', async () => {
    const { api } = await setup(
      (req, res, url) => {
        if (req.headers.authorization !== 'Bearer t0ken')
          return void res.writeHead(401).end(JSON.stringify({ kind: 'Status', code: 401, message: 'Unauthorized' }));
        if (url.searchParams.get('watch') === 'true') return holdWatch(res);
        res.writeHead(200).end(list([pod('a')], '5'));
      },
      { token: 't0ken' },
    );
    await vi.waitFor(() => expect(api.watches()).toHaveLength(1));
    expect(api.authorizations).toEqual(['Bearer t0ken', 'Bearer t0ken']);
  });

  it('reports a refused request (401) and retries it', async () => {
    const { api, errors } = await setup(
      (_req, res) =>
        void res
          .writeHead(401, { 'content-type': 'application/json' })
          .end(JSON.stringify({ kind: 'Status', code: 401, reason: 'Unauthorized', message: 'Unauthorized' })),
      { token: 'wrong' },
    );
    await vi.waitFor(() => expect(api.lists().length).toBeGreaterThanOrEqual(2));
    expect(errors[0]).toBeInstanceOf(KubeApiError);
    expect(errors[0]).toMatchObject({ status: 401, reason: 'Unauthorized' });
  });

  it('reads watch events however the stream is cut: mid-JSON, mid-UTF-8 character, several per chunk', async () => {
    const events = line('ADDED', pod('x-ü🙂', '11')) + line('MODIFIED', pod('y', '12')) + line('DELETED', pod('x-ü🙂', '13'));
    const bytes = Buffer.from(events, 'utf8');
    const { api, log } = await setup((_req, res, url) => {
      if (url.searchParams.get('watch') !== 'true') return void res.writeHead(200).end(list([], '10'));
      if (api!.watches().length > 1) return holdWatch(res);
      holdWatch(res);
      // Cuts (bytes): inside the first object, inside a 4-byte emoji, inside an event type, inside the last emoji.
      const cuts = [0, 9, bytes.indexOf('🙂') + 2, bytes.indexOf('MODIFIED') + 3, bytes.lastIndexOf('🙂') + 1, bytes.length];
      const send = (k: number) => {
        if (k + 1 >= cuts.length) return;
        res.write(bytes.subarray(cuts[k], cuts[k + 1]));
        setTimeout(() => send(k + 1), 5);
      };
      send(0);
    });
    await vi.waitFor(() => expect(log).toEqual(['list', 'end 10', 'ADDED x-ü🙂', 'MODIFIED y', 'DELETED x-ü🙂']));
    expect(api.watches()).toHaveLength(1);
  });

  it('resumes from the last BOOKMARK resourceVersion when the server ends the watch', async () => {
    const { api, log } = await setup((_req, res, url) => {
      if (url.searchParams.get('watch') !== 'true') return void res.writeHead(200).end(list([pod('a')], '10'));
      holdWatch(res);
      if (api!.watches().length === 1) {
        res.write(line('ADDED', pod('b', '11')));
        res.end(line('BOOKMARK', { kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: '42' } }));
      }
    });
    await vi.waitFor(() => expect(api.watches()).toHaveLength(2));
    expect(new URL(api.watches()[1]!, 'http://x').searchParams.get('resourceVersion')).toBe('42');
    expect(log).toEqual(['list', 'item a', 'end 10', 'ADDED b']); // a bookmark is no object event
    expect(api.lists()).toHaveLength(1);
  });

  it('reconnects with the last resourceVersion after the server drops the connection mid-stream', async () => {
    const { api, log, errors } = await setup((_req, res, url) => {
      if (url.searchParams.get('watch') !== 'true') return void res.writeHead(200).end(list([], '10'));
      holdWatch(res);
      if (api!.watches().length === 1) {
        res.write(line('ADDED', pod('a', '15')));
        res.write('{"type":"MODIFIED","obj'); // half an event, then the socket dies
        setTimeout(() => res.socket?.destroy(), 20);
      } else res.write(line('MODIFIED', pod('a', '16')));
    });
    await vi.waitFor(() => expect(log).toEqual(['list', 'end 10', 'ADDED a', 'MODIFIED a']));
    expect(new URL(api.watches()[1]!, 'http://x').searchParams.get('resourceVersion')).toBe('15');
    expect(api.lists()).toHaveLength(1); // no relist for a dropped connection
    expect(errors).toHaveLength(1);
  });

  it('relists on 410 Gone, as an ERROR watch event or as the HTTP status', async () => {
    let lists = 0;
    const { api, log, errors } = await setup((_req, res, url) => {
      if (url.searchParams.get('watch') !== 'true') {
        lists++;
        return void res.writeHead(200).end(list(lists === 1 ? [pod('a'), pod('b')] : [pod('b', '30')], String(lists * 100)));
      }
      const n = api!.watches().length;
      if (n === 1) {
        holdWatch(res);
        res.write(
          line('ERROR', {
            kind: 'Status',
            apiVersion: 'v1',
            status: 'Failure',
            code: 410,
            reason: 'Expired',
            message: 'too old resource version: 100 (150)',
          }),
        );
      } else if (n === 2)
        res
          .writeHead(410, { 'content-type': 'application/json' })
          .end(JSON.stringify({ kind: 'Status', code: 410, reason: 'Gone', message: 'too old' }));
      else holdWatch(res);
    });
    await vi.waitFor(() => expect(api.watches()).toHaveLength(3));
    expect(log).toEqual(['list', 'item a', 'item b', 'end 100', 'relist', 'item b', 'end 200', 'relist', 'item b', 'end 300']);
    expect(new URL(api.watches()[2]!, 'http://x').searchParams.get('resourceVersion')).toBe('300');
    expect(errors).toEqual([]); // 410 is routine, not an error
  });

  it('stop() aborts the open watch and ends the loop', async () => {
    const { api, lw } = await setup((_req, res, url) =>
      url.searchParams.get('watch') === 'true' ? holdWatch(res) : void res.writeHead(200).end(list([], '1')),
    );
    await vi.waitFor(() => expect(api.open.size).toBe(1));
    await lw.stop();
    await vi.waitFor(() => expect(api.open.size).toBe(0));
    const before = api.requests.length;
    await new Promise((r) => setTimeout(r, 60));
    expect(api.requests.length).toBe(before);
  });
});
