// Opens one .om file with Netron's own OM reader, the way Netron's viewer does before it
// draws a graph: ModelFactory.match() then open() on a context, which reads the header and
// partition table, decodes the ModelDef protobuf and builds Netron's model object (graphs,
// nodes, values, attributes). Netron's modules are imported from an installed `netron`
// package at run time; nothing of Netron is copied here. Used by bench_netron.py.
//
//   NETRON_DIR=/path/to/site-packages/netron node netron_om.mjs [--repeat N] MODEL.om
//
// Prints one JSON line: what Netron built (graphs, ops decoded, nodes made from them), and
// with --repeat N the CPU and wall seconds of N more opens after a first, excluded one
// (which imports the protobuf schema and reads the op metadata, as Netron does once).

import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

const args = process.argv.slice(2);
let repeat = 0;
if (args[0] === '--repeat') {
    repeat = Number(args[1]);
    args.splice(0, 2);
}
const netronDir = process.env.NETRON_DIR;
if (!netronDir || args.length !== 1 || !(repeat >= 0)) {
    process.stderr.write('usage: NETRON_DIR=<site-packages>/netron node netron_om.mjs [--repeat N] MODEL.om\n');
    process.exit(2);
}
const netron = (name) => pathToFileURL(join(netronDir, name)).href;
const base = await import(netron('base.js'));
const { ModelFactory } = await import(netron('om.js'));

// Op metadata is read once per process and kept, as Netron's viewer keeps it.
const metadataCache = new Map();

// Netron looks an op type up by name; unknown types get undefined and om.js falls back to the name.
class OpMetadata {
    constructor(entries) {
        this.byName = new Map(entries.map((entry) => [entry.name, entry]));
    }

    type(name) {
        return this.byName.get(name);
    }
}

// The part of Netron's model context that om.js uses.
class Context {
    constructor(identifier, bytes) {
        this.identifier = identifier;
        this.stream = new base.BinaryStream(bytes);
        this.type = null;
        this.value = null;
    }

    set(type, value) {
        this.type = type;
        this.value = value;
        return type;
    }

    async require(id) {
        return import(netron(`${id.replace(/^\.\//, '')}.js`));
    }

    async metadata(name) {
        if (!metadataCache.has(name)) {
            metadataCache.set(name, new OpMetadata(JSON.parse(readFileSync(join(netronDir, name), 'utf-8'))));
        }
        return metadataCache.get(name);
    }
}

const path = args[0];
const bytes = new Uint8Array(readFileSync(path));

async function open() {
    const factory = new ModelFactory();
    const context = new Context(path.split('/').pop(), bytes);
    if (await factory.match(context) !== 'om') {
        throw new Error(`Netron's OM reader does not recognise ${path}`);
    }
    return { model: await factory.open(context), target: context.value };
}

function summary({ model, target }) {
    return {
        format: model.format,
        graphs: model.modules.length,
        ops: target.model.graph.reduce((n, graph) => n + graph.op.length, 0),
        root_ops: target.model.graph.length ? target.model.graph[0].op.length : 0,
        nodes: model.modules.reduce((n, graph) => n + graph.nodes.length, 0),
    };
}

try {
    const result = summary(await open());
    if (repeat > 0) {
        const cpu = [];
        const wall = [];
        for (let i = 0; i < repeat; i++) {
            const c0 = process.cpuUsage();
            const w0 = performance.now();
            await open();
            const w1 = performance.now();
            const c1 = process.cpuUsage(c0);
            cpu.push((c1.user + c1.system) / 1e6);
            wall.push((w1 - w0) / 1e3);
        }
        result.cpu = cpu;
        result.wall = wall;
    }
    process.stdout.write(`${JSON.stringify(result)}\n`);
} catch (error) {
    process.stderr.write(`netron_om.mjs: ${path}: ${error && error.message ? error.message : error}\n`);
    process.exit(1);
}
