/*
 * fakeacl.c - a stand-in libascendcl.so for acl-notebook's tests.
 *
 * Why it exists: no machine we test on has an NPU or CANN, yet the `acl` backend must be
 * exercised through real ctypes calls into a real shared library with ACL's C ABI. This
 * library exports the ACL subset the backend uses, keeps its own state, and behaves as
 * shared/docs/acl-api.md sections 5-6 describe. It is deliberately independent of the
 * Python package: it reads the OM bytes itself, so a test that compares what the binding
 * reports with NAME.expect.json checks the binding, not our own Python parser twice.
 *
 * Build: gcc -shared -fPIC -O1 -pthread -fvisibility=hidden fakeacl.c -o libascendcl.so
 * With -DFAKEACL_OLD_CANN the newer symbols are left out (aclsysGetVersionStr,
 * aclmdlGetDescFromMem, aclmdlGetInputDimsV2, aclmdlGetInputDimsRange, the
 * aclmdlLoadWithConfig family, aclrtGetDeviceUtilizationRate, aclrtCreateEventExWithFlag,
 * aclrtCreateStreamWithConfig, aclrtSynchronizeEventWithTimeout and aclrtDeviceGetStreamPriorityRange)
 * to test lazy symbol resolution.
 *
 * Semantics (the simulator backend implements the same):
 *  - aclInit: 0, then 100002 (refcount++). aclFinalize: 0, again 100037; aclInit works again
 *    after it. Finalize does not drop devices, contexts or models.
 *  - Calls that need aclInit return 100001 before it; model loads and
 *    aclmdlQuerySizeFromMem return 145001 (GE executor not initialised).
 *  - Check order of a load: NULL/0-size buffer or NULL out pointer (100000) -> init (145001)
 *    -> current context of the calling thread (107002) -> bytes (145006: size < 256, bad
 *    magic, header length != size - 256; 545002: unreadable partition table / MODEL_DEF)
 *    -> SoC family (507008) -> device memory (207001) -> id assigned (from 1, never reused).
 *  - The current context is thread-local. aclrtSetDevice binds the device's default context
 *    on the calling thread; aclrtCreateContext creates one and makes it current.
 *    aclrtResetDevice drops the default context. aclrtGetCurrentContext with none returns
 *    107002 and NULL. Unknown handles give 107017.
 *  - aclmdlUnload: init (100001) -> context (107002) -> id (145003) -> same context (107004).
 *  - aclmdlGetDesc: NULL desc (100000) -> init (100001) -> id (145003); needs no context.
 *  - aclrtGetMemInfo: free = total - idle - sum(work + weight of models on the device). A
 *    SoC whose name contains "310" has DDR only (HBM kinds are answered from DDR); any other
 *    SoC has HBM only (DDR kinds report free = total = 0).
 *  - aclrtGetDeviceUtilizationRate: NULL info or a non-NULL utilizationExtend (100000) ->
 *    init (100001) -> device id (107001); needs no context. Reports what
 *    fakeacl_set_utilization set (0 % by default) and memoryUtilization -1 (not supported).
 *  - aclmdlLoadWithConfig supports LOAD_TYPE_SIZET = 3 (from memory) and 4 (from memory with
 *    the caller's WORKSPACE_ADDR/SIZET and WEIGHT_ADDR/SIZET, checked as aclmdlLoadFromMemWithMem
 *    checks them); other load types, a missing address or size give 100000.
 *  - A tensor of unknown rank (GE shape {-2}) reports dimCount = ACL_UNKNOWN_RANK.
 *  - aclmdlGetDynamicHW / aclmdlGetInputDynamicGearCount / aclmdlGetInputDynamicDims ignore
 *    their index argument (ACL documents it as reserved, -1). Each dims gear is reported as
 *    real ACL reports it: every user input's dims, in shape order (MODEL_INOUT_INFO block 6,
 *    else input order), concatenated, with the -1 axes filled in.
 *  - Execution (acl-execute.md sections 2-7): aclrtMalloc charges (size + 63) / 32 * 32 bytes
 *    (no padding for the HUGE1G policies) to the device; device pointers are checked against
 *    the live blocks, and in EP (run mode 1) a device block is not host memory for
 *    aclrtMemcpy's host side. aclmdlExecute computes every output in C from the bytes of the
 *    user inputs it finds in device memory (the placeholder function of sim_outputs.py), so a
 *    binding that skips a copy or passes the wrong buffer gets different outputs. Gears come
 *    from the set calls (stored in the dataset and as the model's current shape) or, when
 *    none was set, from the mbatch buffer's contents. Output shapes per gear come from
 *    MODEL_INOUT_INFO block 5, else the -1 axes are filled from the gear.
 *  - Stream work (aclmdlExecuteAsync, aclrtMemcpyAsync) is checked as ACL checks it and then
 *    completed at once, so launch order holds trivially; the simulator is the one that defers.
 *    Events follow (codes as acl_notebook/runtime/sim_events.py records them): a record takes its
 *    timestamp at once, a reset clears it, synchronize and stream-wait have nothing to wait for.
 *  - Tensor descs and a dataset's entry descs as acl_notebook/runtime/sim_tensors.py records ACL's
 *    rules (see the section above aclCreateTensorDesc); aclrtMallocCached is aclrtMalloc, and
 *    aclrtMemFlush / aclrtMemInvalidate only check their range (there is no cache here).
 *
 * OM reading (GE's rules as om-format.md sections 2-5 and 8 describe them):
 *  - header 1.0 (no model_num, platform_version at 0x9C) and 2.0; model_length at 0xB8 wins
 *    over length when non-zero and selects the wide (24-byte) partition table, with a
 *    fallback to the other width when the first does not hold together;
 *  - I/O and gears from MODEL_INOUT_INFO (type 8) when it has both an input and an output
 *    block; otherwise from graph[0] of the ModelDef: Data/AippData/AnnData ops ordered by
 *    their `index` attr (graph order without one), dims from _dynamic_aipp_input_dims /
 *    _mbatch_origin_input_dims / input_desc[0], size from _special_input_size or
 *    input_desc[0].size; the first NetOutput's input_desc[i] (FRACTAL_Z 4-D shown as HWCN,
 *    size from _special_output_size or elements x dtype size, names from
 *    attr_model_out_nodes_name or "output_<i>_<src>_<idx>"); gears from the first Case op.
 *    Compressed attribute names (om_compress_version) are decoded via attr_name_enum;
 *    format_for_int wins over the layout string; __tensor_desc_data_type__ over dtype;
 *  - memory_size / weight_size / soc_version from the model attrs (weight falls back to the
 *    WEIGHTS_DATA size).
 * Limits (test scaffolding, not a general reader): only the first partition table is read
 * (a model_num > 1 model exposes its root model), DYNAMIC_OUTPUT_SHAPE / shape-order blocks
 * are skipped (no getter we serve returns them), bundle and encrypted models are not
 * recognised, and string-valued compressed attrs (attr_value_enum) are never needed here.
 */
#include "fakeacl.h"

#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

_Static_assert(sizeof(aclmdlIODims) == 1160, "aclmdlIODims size");
_Static_assert(offsetof(aclmdlIODims, dimCount) == 128, "aclmdlIODims.dimCount");
_Static_assert(offsetof(aclmdlIODims, dims) == 136, "aclmdlIODims.dims");
_Static_assert(sizeof(aclmdlIODimsRange) == 2056, "aclmdlIODimsRange size");
_Static_assert(sizeof(aclmdlBatch) == 1032, "aclmdlBatch size");
_Static_assert(sizeof(aclmdlHW) == 2056, "aclmdlHW size");
_Static_assert(sizeof(aclrtUtilizationInfo) == 24, "aclrtUtilizationInfo size");
_Static_assert(offsetof(aclrtUtilizationInfo, utilizationExtend) == 16, "aclrtUtilizationInfo.utilizationExtend");

#define GiB (1024ULL * 1024ULL * 1024ULL)
#define MAX_DEVICES 64
#define MAX_INJECTIONS 32
#define MAX_GEARS 128
#define OM_MAGIC 0x444F4D49u
#define OM_HEADER 256

/* ------------------------------------------------------------------------------------- */
/* State                                                                                 */
/* ------------------------------------------------------------------------------------- */

typedef struct fa_ctx {
    int device;
    int live;
    struct fa_ctx *next;
} fa_ctx; /* never freed, so a stale thread-local pointer is always safe to read */

typedef struct {
    char *name;
    size_t ndims, ndims2, nrange;
    int64_t dims[ACL_MAX_DIM_CNT];
    int64_t dims2[ACL_MAX_DIM_CNT];
    int64_t range[ACL_MAX_DIM_CNT][2];
    uint64_t size;
    int32_t format, dtype;
} fa_tensor;

typedef struct {
    int refs;
    uint64_t work, weight;
    char soc[64];
    uint32_t version, model_num;
    char platform_version[24];
    size_t nin, nout;
    fa_tensor *in, *out;
    int dyn_kind; /* 0 static, 2 batch, 3 hw, 4 dims (the MODEL_INOUT_INFO block type) */
    size_t ngears;
    size_t gear_len[MAX_GEARS];
    int64_t gear[MAX_GEARS][ACL_MAX_DIM_CNT];
    size_t norder, nout_shapes; /* MODEL_INOUT_INFO blocks 6 (shape order) and 5 (output shapes) */
    char **order, **out_shapes;
} fa_info; /* shared, refcounted, by a loaded model and the descs filled from it */

typedef struct fa_model {
    uint32_t id;
    fa_ctx *ctx;
    int device;
    uint64_t charge;
    fa_info *info;
    int has_gear; /* the model's current shape, set by the gear set calls and execute */
    size_t cur_gear;
    struct fa_model *next;
} fa_model;

struct aclmdlDesc {
    fa_info *info;
    uint32_t model_id; /* 0 when filled from memory */
    struct aclmdlDesc *next;
};

struct aclmdlConfigHandle {
    int has_type, has_addr, has_size, has_priority;
    size_t load_type, size, work_size, weight_size;
    const void *addr;
    void *work, *weight; /* FROM_MEM_WITH_MEM: the caller's device memory (NULL: ACL allocates) */
    int32_t priority;
    struct aclmdlConfigHandle *next;
};

typedef struct {
    fa_ctx *default_ctx;
    uint64_t total, idle, charged;
    int32_t util[3]; /* cube, vector, aicpu in percent; -1 = not measurable */
} fa_device;

typedef struct {
    char func[64];
    int code;
    int remaining;
    int active;
} fa_injection;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned g_epoch = 1; /* bumped by fakeacl_reset: invalidates every thread's locals */
static int g_inited, g_finalized, g_init_refs;
static uint32_t g_device_count = 1;
static char g_soc[64] = "Ascend910B1";
static int32_t g_run_mode = 1;
static int g_prefer_modeldef;
static fa_device g_dev[MAX_DEVICES];
static fa_ctx *g_ctxs;
static fa_model *g_models;
static aclmdlDesc *g_descs;
static aclmdlConfigHandle *g_handles;
static uint32_t g_next_id = 1;
static fa_injection g_inj[MAX_INJECTIONS];
static const void *g_last_ptr;
static size_t g_last_size;
static int g_last_has_priority;
static int32_t g_last_priority;

static __thread fa_ctx *tl_ctx;
static __thread unsigned tl_ctx_epoch;
static __thread char tl_err[512];
static __thread char tl_err_out[512];
static __thread int tl_err_set;
static __thread unsigned tl_err_epoch;

static unsigned epoch_now(void) { return __atomic_load_n(&g_epoch, __ATOMIC_ACQUIRE); }

static void default_memory(void) {
    for (int i = 0; i < MAX_DEVICES; i++) {
        g_dev[i].total = 64 * GiB;
        g_dev[i].idle = 2 * GiB;
        g_dev[i].util[0] = g_dev[i].util[1] = g_dev[i].util[2] = 0;
    }
}

__attribute__((constructor)) static void fa_boot(void) { default_memory(); }

/* Record a message for aclGetRecentErrMsg and hand back the code. */
__attribute__((format(printf, 2, 3))) static aclError fail(aclError code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tl_err, sizeof tl_err, fmt, ap);
    va_end(ap);
    tl_err_set = 1;
    tl_err_epoch = epoch_now();
    return code;
}

/* The injected failure for this call of `func`, or 0. Caller holds g_mu. */
static int injected(const char *func) {
    int fire = 0;
    for (int i = 0; i < MAX_INJECTIONS; i++) {
        fa_injection *j = &g_inj[i];
        if (!j->active || strcmp(j->func, func) != 0) continue;
        if (j->remaining > 0) {
            j->remaining--;
        } else {
            j->active = 0;
            if (!fire) fire = j->code;
        }
    }
    return fire;
}

#define LOCK() pthread_mutex_lock(&g_mu)
#define UNLOCK() pthread_mutex_unlock(&g_mu)
/* Count a call of `func` (fakeacl_calls reads it back); defined with the execution family below. */
static void count_call(const char *func);

/* Every aclError entry point starts with ENTER: lock, then honour fakeacl_fail(). */
#define ENTER()                                                                  \
    LOCK();                                                                      \
    do {                                                                         \
        int inj_ = injected(__func__);                                           \
        if (inj_) {                                                              \
            fail(inj_, "fakeacl: injected failure of %s (code %d)", __func__, inj_); \
            UNLOCK();                                                            \
            return inj_;                                                         \
        }                                                                        \
    } while (0)
#define LEAVE(code)            \
    do {                               \
        aclError rc_ = (code);         \
        UNLOCK();                      \
        return rc_;                    \
    } while (0)

static fa_ctx *current_ctx(void) {
    if (tl_ctx_epoch != epoch_now() || tl_ctx == NULL || !tl_ctx->live) return NULL;
    return tl_ctx;
}

static void set_current(fa_ctx *c) {
    tl_ctx = c;
    tl_ctx_epoch = epoch_now();
}

static fa_ctx *find_ctx(const void *handle) {
    for (fa_ctx *c = g_ctxs; c; c = c->next)
        if (c == handle && c->live) return c;
    return NULL;
}

static fa_ctx *new_ctx(int device) {
    fa_ctx *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->device = device;
    c->live = 1;
    c->next = g_ctxs;
    g_ctxs = c;
    return c;
}

static aclmdlDesc *find_desc(const aclmdlDesc *d) {
    for (aclmdlDesc *x = g_descs; x; x = x->next)
        if (x == d) return x;
    return NULL;
}

#ifndef FAKEACL_OLD_CANN
static aclmdlConfigHandle *find_handle(const aclmdlConfigHandle *h) {
    for (aclmdlConfigHandle *x = g_handles; x; x = x->next)
        if (x == h) return x;
    return NULL;
}
#endif

static void free_strings(char **v, size_t n) {
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

static size_t ordered_inputs(const fa_info *info, const fa_tensor **out);
static void input_dims_at(const fa_info *info, const fa_tensor *t, const int64_t *gear, size_t glen, int64_t *out);

static void info_unref(fa_info *info) {
    if (!info || --info->refs > 0) return;
    free_strings(info->order, info->norder);
    free_strings(info->out_shapes, info->nout_shapes);
    for (size_t i = 0; i < info->nin; i++) free(info->in[i].name);
    for (size_t i = 0; i < info->nout; i++) free(info->out[i].name);
    free(info->in);
    free(info->out);
    free(info);
}

static uint64_t device_free(int device) {
    const fa_device *d = &g_dev[device];
    uint64_t used = d->idle + d->charged;
    return used >= d->total ? 0 : d->total - used;
}

/* ------------------------------------------------------------------------------------- */
/* Enum tables (facts from om-format.md section 6)                                       */
/* ------------------------------------------------------------------------------------- */

/* ge.proto.DataType -> aclDataType, index = proto value. */
static const int8_t PROTO_TO_ACL[] = {
    -1, 0, 1, 2, 4, 6, 7, 3, 9, 8, 10, 12, 11, 13, 14, 15, 16, 17, 18, 19, 20,
    21, 22, 23, 24, 25, 26, 27, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42,
};

/* Bits per element of an aclDataType (0 = unknown: size reported as 0). */
static int dtype_bits(int dt) {
    switch (dt) {
    case 0: case 3: case 8: case 20: case 33: return 32;
    case 1: case 6: case 7: case 19: case 22: case 27: return 16;
    case 2: case 4: case 12: case 18: case 21: case 34: case 35: case 36: case 37: return 8;
    case 9: case 10: case 11: case 16: return 64;
    case 17: return 128;
    case 29: case 40: case 41: case 42: return 4;
    case 38: case 39: return 6;
    case 31: case 32: return 2;
    case 30: return 1;
    default: return 0;
    }
}

/* ge::Format names, index = value. */
static const char *const FORMAT_NAMES[] = {
    "NCHW", "NHWC", "ND", "NC1HWC0", "FRACTAL_Z", "NC1C0HWPAD", "NHWC1C0", "FSR_NCHW",
    "FRACTAL_DECONV", "C1HWNC0", "FRACTAL_DECONV_TRANSPOSE", "FRACTAL_DECONV_SP_STRIDE_TRANS",
    "NC1HWC0_C04", "FRACTAL_Z_C04", "CHWN", "FRACTAL_DECONV_SP_STRIDE8_TRANS", "HWCN",
    "NC1KHKWHWC0", "BN_WEIGHT", "FILTER_HWCK", "HASHTABLE_LOOKUP_LOOKUPS",
    "HASHTABLE_LOOKUP_KEYS", "HASHTABLE_LOOKUP_VALUE", "HASHTABLE_LOOKUP_OUTPUT",
    "HASHTABLE_LOOKUP_HITS", "C1HWNCoC0", "MD", "NDHWC", "FRACTAL_ZZ", "FRACTAL_NZ", "NCDHW",
    "DHWCN", "NDC1HWC0", "FRACTAL_Z_3D", "CN", "NC", "DHWNC", "FRACTAL_Z_3D_TRANSPOSE",
    "FRACTAL_ZN_LSTM", "FRACTAL_Z_G", "RESERVED", "ALL", "NULL", "ND_RNN_BIAS",
    "FRACTAL_ZN_RNN", "NYUV", "NYUV_A", "NCL", "FRACTAL_Z_WINO", "C1HWC0", "FRACTAL_NZ_C0_16",
    "FRACTAL_NZ_C0_32",
};

static int32_t format_from_layout(const uint8_t *s, size_t n) {
    for (size_t i = 0; i < sizeof FORMAT_NAMES / sizeof *FORMAT_NAMES; i++)
        if (strlen(FORMAT_NAMES[i]) == n && memcmp(FORMAT_NAMES[i], s, n) == 0) return (int32_t)i;
    return -1;
}

/* ------------------------------------------------------------------------------------- */
/* Little-endian readers and a protobuf wire-format walker                               */
/* ------------------------------------------------------------------------------------- */

static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

typedef struct {
    const uint8_t *p, *end;
} pb;

typedef struct {
    uint32_t field;
    int wire;
    uint64_t v; /* varint / fixed value */
    pb sub;     /* length-delimited payload */
} pb_field;

static int pb_varint(pb *r, uint64_t *out) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) return -1;
        uint8_t b = *r->p++;
        v |= (uint64_t)(b & 0x7F) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

/* 1 = a field was read, 0 = end of message, -1 = malformed. */
static int pb_next(pb *r, pb_field *f) {
    uint64_t key, len;
    if (r->p >= r->end) return 0;
    if (pb_varint(r, &key)) return -1;
    f->field = (uint32_t)(key >> 3);
    f->wire = (int)(key & 7);
    switch (f->wire) {
    case 0:
        return pb_varint(r, &f->v) ? -1 : 1;
    case 1:
        if (r->end - r->p < 8) return -1;
        f->v = rd64(r->p);
        r->p += 8;
        return 1;
    case 5:
        if (r->end - r->p < 4) return -1;
        f->v = rd32(r->p);
        r->p += 4;
        return 1;
    case 2:
        if (pb_varint(r, &len) || len > (uint64_t)(r->end - r->p)) return -1;
        f->sub.p = r->p;
        f->sub.end = r->p + len;
        r->p += len;
        return 1;
    default:
        return -1; /* groups are not used by ge_ir.proto */
    }
}

static int pb_eq(const pb *s, const char *text) {
    size_t n = strlen(text);
    return (size_t)(s->end - s->p) == n && memcmp(s->p, text, n) == 0;
}

/* Repeated int64, packed (wire 2) or not (wire 0): append to out[*n]. */
static int pb_ints(const pb_field *f, int64_t *out, size_t *n, size_t cap) {
    if (f->wire == 0) {
        if (*n >= cap) return -1;
        out[(*n)++] = (int64_t)f->v;
        return 0;
    }
    if (f->wire != 2) return -1;
    pb r = f->sub;
    uint64_t v;
    while (r.p < r.end) {
        if (pb_varint(&r, &v) || *n >= cap) return -1;
        out[(*n)++] = (int64_t)v;
    }
    return 0;
}

static char *dup_n(const uint8_t *s, size_t n) {
    char *out = malloc(n + 1);
    if (out) {
        memcpy(out, s, n);
        out[n] = 0;
    }
    return out;
}

/* ------------------------------------------------------------------------------------- */
/* OM parsing                                                                            */
/* ------------------------------------------------------------------------------------- */

typedef struct {
    uint32_t type;
    const uint8_t *data;
    uint64_t size;
} fa_part;

#define PARSE_FAIL(code, ...)                     \
    do {                                          \
        snprintf(why, whylen, __VA_ARGS__);       \
        return (code);                            \
    } while (0)

/* Read the first partition table; 0 on success, -1 if it does not hold together. */
static int read_table(const uint8_t *p, size_t n, int wide, fa_part *parts, size_t *num) {
    size_t off = OM_HEADER, head = wide ? 8 : 4, entry = wide ? 24 : 12;
    if (n < off + head) return -1;
    uint32_t count = rd32(p + off);
    if (count == 0 || count > 32) return -1;
    size_t table = head + entry * count;
    if (n - off < table) return -1;
    size_t cursor = off + table;
    uint32_t seen = 0;
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *e = p + off + head + entry * i;
        uint32_t type = rd32(e);
        uint64_t size = wide ? rd64(e + 16) : rd32(e + 8);
        if (type >= 32 || (seen & (1u << type)) || size > n - cursor) return -1;
        seen |= 1u << type;
        parts[i].type = type;
        parts[i].data = p + cursor;
        parts[i].size = size;
        cursor += size;
    }
    *num = count;
    return 0;
}

static int parse_tensor_record(const uint8_t **cur, const uint8_t *end, fa_tensor *t) {
    const uint8_t *q = *cur;
    if (end - q < 32) return -1;
    uint64_t size = rd64(q);
    int32_t format = (int32_t)rd32(q + 8), dtype = (int32_t)rd32(q + 12);
    uint64_t name_len = rd32(q + 16), dims_len = rd32(q + 20), dims2_len = rd32(q + 24);
    uint64_t range_len = rd32(q + 28);
    q += 32;
    if ((uint64_t)(end - q) < name_len + dims_len + dims2_len + range_len) return -1;
    if (dims_len % 8 || dims2_len % 8 || range_len % 16) return -1;
    if (dims_len / 8 > ACL_MAX_DIM_CNT || dims2_len / 8 > ACL_MAX_DIM_CNT ||
        range_len / 16 > ACL_MAX_DIM_CNT)
        return -1;
    t->name = dup_n(q, name_len);
    if (!t->name) return -1;
    q += name_len;
    t->size = size;
    t->format = format >= 0 ? (format & 0xFF) : -1; /* the primary format, without sub-format bits */
    t->dtype = dtype == 28 ? -1 : dtype;             /* ge::DT_UNDEFINED is ACL_DT_UNDEFINED */
    t->ndims = dims_len / 8;
    for (size_t i = 0; i < t->ndims; i++) t->dims[i] = (int64_t)rd64(q + 8 * i);
    q += dims_len;
    t->ndims2 = dims2_len / 8;
    for (size_t i = 0; i < t->ndims2; i++) t->dims2[i] = (int64_t)rd64(q + 8 * i);
    q += dims2_len;
    t->nrange = range_len / 16;
    for (size_t i = 0; i < t->nrange; i++) {
        t->range[i][0] = (int64_t)rd64(q + 16 * i);
        t->range[i][1] = (int64_t)rd64(q + 16 * i + 8);
    }
    q += range_len;
    *cur = q;
    return 0;
}

/* A strings block: u32 n, n x u32 lengths, then the strings (no NUL). */
static int read_strings(const uint8_t *v, const uint8_t *vend, char ***out, size_t *count) {
    if (vend - v < 4 || *out) return -1;
    uint32_t n = rd32(v);
    v += 4;
    if (n > 65536 || (uint64_t)(vend - v) < 4ull * n) return -1;
    const uint8_t *text = v + 4ull * n;
    char **list = calloc(n ? n : 1, sizeof *list);
    if (!list) return -1;
    *out = list;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t len = rd32(v + 4 * i);
        if ((uint64_t)(vend - text) < len) return -1;
        list[i] = dup_n(text, len);
        if (!list[i]) return -1;
        *count = i + 1;
        text += len;
    }
    *count = n;
    return 0;
}

/* MODEL_INOUT_INFO: u32 type, u32 length, value; until the partition ends. */
static int parse_inout(const fa_part *part, fa_info *info) {
    const uint8_t *q = part->data, *end = part->data + part->size;
    while (q < end) {
        if (end - q < 8) return -1;
        uint32_t type = rd32(q), len = rd32(q + 4);
        q += 8;
        if ((uint64_t)(end - q) < len) return -1;
        const uint8_t *v = q, *vend = q + len;
        q = vend;
        if (type == 0 || type == 1) {
            if (vend - v < 4) return -1;
            uint32_t count = rd32(v);
            v += 4;
            if (count > 4096 || (type == 0 ? info->in != NULL : info->out != NULL)) return -1;
            fa_tensor *ts = calloc(count ? count : 1, sizeof *ts);
            if (!ts) return -1;
            if (type == 0) {
                info->in = ts;
                info->nin = count;
            } else {
                info->out = ts;
                info->nout = count;
            }
            for (uint32_t i = 0; i < count; i++)
                if (parse_tensor_record(&v, vend, &ts[i])) return -1;
        } else if (type == 2 || type == 3 || type == 4) {
            if (vend - v < 4) return -1;
            uint32_t n = rd32(v);
            v += 4;
            if (n > MAX_GEARS) return -1;
            info->dyn_kind = (int)type;
            info->ngears = n;
            if (type == 2) {
                if ((uint64_t)(vend - v) < 8ull * n) return -1;
                for (uint32_t i = 0; i < n; i++) {
                    info->gear_len[i] = 1;
                    info->gear[i][0] = (int64_t)rd64(v + 8 * i);
                }
            } else {
                if ((uint64_t)(vend - v) < 4ull * n) return -1;
                const uint8_t *vals = v + 4ull * n;
                for (uint32_t i = 0; i < n; i++) {
                    uint32_t k = rd32(v + 4 * i);
                    if (k > ACL_MAX_DIM_CNT || (uint64_t)(vend - vals) < 8ull * k) return -1;
                    info->gear_len[i] = k;
                    for (uint32_t j = 0; j < k; j++) info->gear[i][j] = (int64_t)rd64(vals + 8 * j);
                    vals += 8ull * k;
                }
            }
        } else if (type == 5 || type == 6) {
            char ***dst = type == 5 ? &info->out_shapes : &info->order;
            size_t *count = type == 5 ? &info->nout_shapes : &info->norder;
            if (read_strings(v, vend, dst, count)) return -1;
        }
    }
    return 0;
}

/* ---- ModelDef attributes ---------------------------------------------------------- */

/* Op/tensor attr names of a compressed model ("om_compress_version"): key = NUL followed by
 * base-127 digits stored +1, indexing the model attr attr_name_enum. Caller holds g_mu. */
typedef struct {
    int compressed;
    size_t count;
    pb names[8192];
} fa_names;

static fa_names g_names; /* 128 KiB, so not on the stack; g_mu serialises parsing */

static pb resolve_key(pb key) {
    if (!g_names.compressed || key.p == key.end || key.p[0] != 0) return key;
    uint64_t index = 0, scale = 1;
    for (const uint8_t *q = key.p + 1; q < key.end; q++, scale *= 127) index += (uint64_t)(*q - 1) * scale;
    return index < g_names.count ? g_names.names[index] : key;
}

/* The `i` (field 3) of an AttrDef; 1 if present. */
static int attr_int(pb attr, int64_t *out) {
    pb_field f;
    while (pb_next(&attr, &f) == 1)
        if (f.field == 3 && f.wire == 0) {
            *out = (int64_t)f.v;
            return 1;
        }
    return 0;
}

static pb attr_bytes(pb attr) {
    pb_field f;
    pb none = {NULL, NULL};
    while (pb_next(&attr, &f) == 1)
        if (f.field == 2 && f.wire == 2) return f.sub;
    return none;
}

/* list.i of an AttrDef (ListValue field 3); the number of values read (0 if none). */
static size_t attr_ints(pb attr, int64_t *out, size_t cap) {
    pb_field f, g;
    size_t n = 0;
    while (pb_next(&attr, &f) == 1) {
        if (f.field != 1 || f.wire != 2) continue;
        pb list = f.sub;
        while (pb_next(&list, &g) == 1)
            if (g.field == 3 && pb_ints(&g, out, &n, cap)) return 0;
    }
    return n;
}

/* list.s of an AttrDef (ListValue field 2), appended to out[*n]. */
static int attr_strings(pb attr, pb *out, size_t *n, size_t cap) {
    pb_field f, g;
    int rc;
    while ((rc = pb_next(&attr, &f)) == 1) {
        if (f.field != 1 || f.wire != 2) continue;
        pb list = f.sub;
        while ((rc = pb_next(&list, &g)) == 1)
            if (g.field == 2 && g.wire == 2 && *n < cap) out[(*n)++] = g.sub;
        if (rc < 0) return -1;
    }
    return rc;
}

/* One map<string, AttrDef> entry: its (resolved) name and value. */
static int map_entry(pb entry, pb *key, pb *value) {
    pb_field f;
    int rc;
    key->p = key->end = NULL;
    value->p = value->end = NULL;
    while ((rc = pb_next(&entry, &f)) == 1) {
        if (f.field == 1 && f.wire == 2) *key = f.sub;
        if (f.field == 2 && f.wire == 2) *value = f.sub;
    }
    if (key->p) *key = resolve_key(*key);
    return rc;
}

/* ---- ModelDef I/O (GE DavinciModel rules, om-format.md 4.3 / 4.4) ---------------- */

/* `__tensor_desc_data_type__` -> aclDataType for GE's self-defined types. */
static int self_defined_dtype(int64_t v) {
    if (v == 13) return 25;
    return v >= 14 && v <= 22 ? (int)v : -2;
}

typedef struct {
    int has_special;
    int64_t special; /* _special_input_size / _special_output_size */
} fa_tattrs;

/* A TensorDescriptor: dtype (proto numbering), shape, format, planned size, a few attrs. */
static int parse_tensor_desc(pb r, fa_tensor *t, fa_tattrs *ta, const char *special_name) {
    pb_field f;
    int rc, has_fmt_int = 0, self_dt = -2;
    int64_t fmt_int = 0;
    t->dtype = -1;
    t->format = -1;
    t->ndims = 0;
    ta->has_special = 0;
    while ((rc = pb_next(&r, &f)) == 1) {
        if (f.field == 2 && f.wire == 0) {
            t->dtype = f.v < sizeof PROTO_TO_ACL ? PROTO_TO_ACL[f.v] : (int32_t)f.v;
        } else if (f.field == 3 && f.wire == 2) {
            pb s = f.sub;
            pb_field d;
            int rs;
            while ((rs = pb_next(&s, &d)) == 1)
                if (d.field == 1 && pb_ints(&d, t->dims, &t->ndims, ACL_MAX_DIM_CNT)) return -1;
            if (rs < 0) return -1;
        } else if (f.field == 4 && f.wire == 2 && !has_fmt_int) {
            t->format = format_from_layout(f.sub.p, (size_t)(f.sub.end - f.sub.p));
        } else if (f.field == 5 && f.wire == 2) {
            pb k, v;
            int64_t iv;
            if (map_entry(f.sub, &k, &v) < 0) return -1;
            if (!k.p || !v.p || !attr_int(v, &iv)) continue;
            if (pb_eq(&k, "format_for_int")) {
                has_fmt_int = 1;
                fmt_int = iv;
            } else if (pb_eq(&k, "__tensor_desc_data_type__")) {
                self_dt = self_defined_dtype(iv);
            } else if (special_name && pb_eq(&k, special_name)) {
                ta->has_special = 1;
                ta->special = iv;
            }
        } else if (f.field == 10 && f.wire == 0) {
            t->size = f.v;
        }
    }
    if (has_fmt_int) t->format = fmt_int >= 0 ? (int32_t)(fmt_int & 0xFF) : -1;
    if (self_dt != -2) t->dtype = self_dt;
    return rc;
}

static uint64_t computed_size(const fa_tensor *t) {
    uint64_t count = 1;
    for (size_t i = 0; i < t->ndims; i++) count *= t->dims[i] > 0 ? (uint64_t)t->dims[i] : 0;
    return (count * (uint64_t)dtype_bits(t->dtype) + 7) / 8;
}

typedef struct {
    fa_tensor t;
    int64_t index, pos;
} fa_input;

static int cmp_input(const void *a, const void *b) {
    const fa_input *x = a, *y = b;
    if (x->index != y->index) return x->index < y->index ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* A Data/AippData/AnnData op -> one input. */
static int parse_data_op(pb op, fa_input *in) {
    pb_field g;
    pb name = {NULL, NULL}, in_desc = {NULL, NULL}, out_desc = {NULL, NULL};
    int rc, has_index = 0;
    int64_t aipp[ACL_MAX_DIM_CNT], mbatch[ACL_MAX_DIM_CNT];
    size_t naipp = 0, nmbatch = 0;
    while ((rc = pb_next(&op, &g)) == 1) {
        if (g.field == 1 && g.wire == 2) name = g.sub;
        if (g.field == 33 && g.wire == 2 && !in_desc.p) in_desc = g.sub;
        if (g.field == 34 && g.wire == 2 && !out_desc.p) out_desc = g.sub;
        if (g.field == 10 && g.wire == 2) {
            pb k, v;
            if (map_entry(g.sub, &k, &v) < 0) return -1;
            if (!k.p || !v.p) continue;
            if (pb_eq(&k, "index")) has_index = attr_int(v, &in->index);
            if (pb_eq(&k, "_dynamic_aipp_input_dims")) naipp = attr_ints(v, aipp, ACL_MAX_DIM_CNT);
            if (pb_eq(&k, "_mbatch_origin_input_dims")) nmbatch = attr_ints(v, mbatch, ACL_MAX_DIM_CNT);
        }
    }
    if (rc < 0) return -1;
    if (!has_index) in->index = in->pos;
    in->t.name = name.p ? dup_n(name.p, (size_t)(name.end - name.p)) : dup_n((const uint8_t *)"", 0);
    if (!in->t.name) return -1;
    fa_tattrs ta = {0, 0}, out_ta = {0, 0};
    fa_tensor scratch;
    pb desc = in_desc.p ? in_desc : out_desc;
    in->t.dtype = in->t.format = -1;
    if (desc.p && parse_tensor_desc(desc, &in->t, &ta, NULL)) return -1;
    if (out_desc.p) {
        memset(&scratch, 0, sizeof scratch);
        if (parse_tensor_desc(out_desc, &scratch, &out_ta, "_special_input_size")) return -1;
    }
    const int64_t *override = naipp ? aipp : (nmbatch ? mbatch : NULL);
    if (override) {
        in->t.ndims = naipp ? naipp : nmbatch;
        memcpy(in->t.dims, override, in->t.ndims * sizeof(int64_t));
    }
    if (out_ta.has_special && out_ta.special > 0) in->t.size = (uint64_t)out_ta.special;
    if (!desc.p) in->t.size = 0;
    if ((int64_t)in->t.size < 0) in->t.size = 0;
    return 0;
}

/* The NetOutput op -> the outputs, named as GE names them. */
static int parse_netoutput(pb op, const pb *out_names, size_t nnames, fa_info *info) {
    static pb src[4096];
    static int64_t src_index[4096];
    pb_field g;
    size_t nout = 0, nsrc = 0, nidx = 0;
    int rc;
    pb scan = op;
    while ((rc = pb_next(&scan, &g)) == 1) {
        if (g.field == 33 && g.wire == 2) nout++;
        if (g.field == 24 && g.wire == 2 && nsrc < 4096) src[nsrc++] = g.sub;
        if (g.field == 25 && pb_ints(&g, src_index, &nidx, 4096)) return -1;
    }
    if (rc < 0 || nout > 4096) return -1;
    info->out = calloc(nout ? nout : 1, sizeof *info->out);
    if (!info->out) return -1;
    while ((rc = pb_next(&op, &g)) == 1) {
        if (g.field != 33 || g.wire != 2) continue;
        size_t i = info->nout++;
        fa_tensor *t = &info->out[i];
        fa_tattrs ta;
        if (parse_tensor_desc(g.sub, t, &ta, "_special_output_size")) return -1;
        if (t->format == 4 && t->ndims == 4) { /* FRACTAL_Z is reported as HWCN */
            int64_t k = t->dims[0], c = t->dims[1], h = t->dims[2], w = t->dims[3];
            t->dims[0] = h;
            t->dims[1] = w;
            t->dims[2] = c;
            t->dims[3] = k;
            t->format = 16;
        }
        t->size = ta.has_special && ta.special > 0 ? (uint64_t)ta.special : computed_size(t);
        long long idx = (long long)(i < nidx ? src_index[i] : 0);
        char buf[2048];
        if (nnames == nout) {
            int n = (int)(out_names[i].end - out_names[i].p);
            const char *s = (const char *)out_names[i].p;
            if (memchr(s, ':', (size_t)n))
                snprintf(buf, sizeof buf, "%.*s", n, s);
            else
                snprintf(buf, sizeof buf, "%.*s:%lld", n, s, idx);
        } else {
            int n = i < nsrc ? (int)(src[i].end - src[i].p) : 0;
            snprintf(buf, sizeof buf, "output_%zu_%.*s_%lld", i, n, n ? (const char *)src[i].p : "", idx);
        }
        t->name = dup_n((const uint8_t *)buf, strlen(buf));
        if (!t->name) return -1;
    }
    return rc;
}

/* The Case op of a multi-gear model -> kind and gears. */
static int parse_case_op(pb op, fa_info *info) {
    pb_field g;
    int rc, has_count = 0, has_kind = 0;
    int64_t count = 0, kind = 0;
    int have[MAX_GEARS] = {0};
    while ((rc = pb_next(&op, &g)) == 1) {
        if (g.field != 10 || g.wire != 2) continue;
        pb k, v;
        if (map_entry(g.sub, &k, &v) < 0) return -1;
        if (!k.p || !v.p) continue;
        size_t klen = (size_t)(k.end - k.p);
        if (pb_eq(&k, "_batch_num")) {
            has_count = attr_int(v, &count);
        } else if (pb_eq(&k, "mbatch_dynamic_type")) {
            has_kind = attr_int(v, &kind);
        } else if (klen > 12 && klen < 16 && memcmp(k.p, "_pred_value_", 12) == 0) {
            size_t i = 0, ok = 1;
            for (const uint8_t *q = k.p + 12; q < k.end; q++) {
                if (!isdigit(*q)) ok = 0;
                i = i * 10 + (size_t)(*q - '0');
            }
            if (ok && i < MAX_GEARS) {
                info->gear_len[i] = attr_ints(v, info->gear[i], ACL_MAX_DIM_CNT);
                have[i] = 1;
            }
        }
    }
    if (rc < 0) return -1;
    if (!has_count || count < 0)
        for (count = 0; count < MAX_GEARS && have[count]; count++) {
        }
    if (count > MAX_GEARS) count = MAX_GEARS;
    info->ngears = (size_t)count;
    if (has_kind && kind >= 1 && kind <= 3) {
        info->dyn_kind = (int)kind + 1; /* DynamicInputType 1/2/3 -> block types 2/3/4 */
    } else if (count > 0) {
        int all_one = 1;
        for (size_t i = 0; i < info->ngears; i++) all_one &= info->gear_len[i] == 1;
        info->dyn_kind = all_one ? 2 : 4;
    }
    if (!info->dyn_kind) info->ngears = 0;
    return 0;
}

/* Inputs, outputs and gears from graph[0]. */
static int parse_graph_io(pb graph, const pb *out_names, size_t nnames, fa_info *info) {
    pb_field f, g;
    int rc, seen_netoutput = 0, seen_case = 0;
    size_t cap = 16, nin = 0;
    fa_input *ins = calloc(cap, sizeof *ins);
    if (!ins) return -1;
    while ((rc = pb_next(&graph, &f)) == 1) {
        if (f.field != 6 || f.wire != 2) continue;
        pb op = f.sub, type = {NULL, NULL};
        while ((rc = pb_next(&op, &g)) == 1)
            if (g.field == 2 && g.wire == 2) {
                type = g.sub;
                break;
            }
        if (rc < 0) goto bad;
        if (!type.p) continue;
        if (pb_eq(&type, "Data") || pb_eq(&type, "AippData") || pb_eq(&type, "AnnData")) {
            if (nin == cap) {
                fa_input *more = realloc(ins, 2 * cap * sizeof *ins);
                if (!more) goto bad;
                memset(more + cap, 0, cap * sizeof *ins);
                ins = more;
                cap *= 2;
            }
            ins[nin].pos = (int64_t)nin;
            if (parse_data_op(f.sub, &ins[nin++])) goto bad;
        } else if (pb_eq(&type, "NetOutput") && !seen_netoutput) {
            seen_netoutput = 1;
            if (parse_netoutput(f.sub, out_names, nnames, info)) goto bad;
        } else if (pb_eq(&type, "Case") && !seen_case && !info->dyn_kind) { /* type 8 gears win */
            seen_case = 1;
            if (parse_case_op(f.sub, info)) goto bad;
        }
    }
    if (rc < 0) goto bad;
    qsort(ins, nin, sizeof *ins, cmp_input);
    info->in = calloc(nin ? nin : 1, sizeof *info->in);
    if (!info->in) goto bad;
    for (size_t i = 0; i < nin; i++) info->in[i] = ins[i].t;
    info->nin = nin;
    free(ins);
    return 0;
bad:
    for (size_t i = 0; i < nin; i++) free(ins[i].t.name);
    free(ins);
    return -1;
}

/* ModelDef: memory attrs and SoC always; I/O and gears from the graph when `need_io`. */
static int parse_model_def(const fa_part *part, fa_info *info, int need_io, int *has_weight) {
    static pb out_names[4096];
    size_t nnames = 0;
    pb r = {part->data, part->data + part->size}, graph = {NULL, NULL};
    pb_field f;
    int rc;
    int64_t iv;
    g_names.compressed = 0;
    g_names.count = 0;
    while ((rc = pb_next(&r, &f)) == 1) {
        if (f.field == 7 && f.wire == 2 && !graph.p) graph = f.sub;
        if (f.field != 11 || f.wire != 2) continue;
        pb k, v;
        if (map_entry(f.sub, &k, &v) < 0) return -1; /* model-level names are never compressed */
        if (!k.p || !v.p) continue;
        if (pb_eq(&k, "memory_size") && attr_int(v, &iv)) {
            info->work = (uint64_t)iv;
        } else if (pb_eq(&k, "weight_size") && attr_int(v, &iv)) {
            info->weight = (uint64_t)iv;
            *has_weight = 1;
        } else if (pb_eq(&k, "soc_version")) {
            pb s = attr_bytes(v);
            if (s.p) snprintf(info->soc, sizeof info->soc, "%.*s", (int)(s.end - s.p), (const char *)s.p);
        } else if (pb_eq(&k, "attr_model_out_nodes_name")) {
            nnames = 0;
            if (attr_strings(v, out_names, &nnames, 4096)) return -1;
        } else if (pb_eq(&k, "om_compress_version") && attr_int(v, &iv)) {
            g_names.compressed = iv >= 1;
        } else if (pb_eq(&k, "attr_name_enum")) {
            g_names.count = 0;
            if (attr_strings(v, g_names.names, &g_names.count, 8192)) return -1;
        }
    }
    if (rc < 0) return -1;
    if (!need_io) return 0;
    if (!graph.p) {
        info->in = calloc(1, sizeof *info->in);
        info->out = calloc(1, sizeof *info->out);
        return info->in && info->out ? 0 : -1;
    }
    return parse_graph_io(graph, out_names, nnames, info);
}

static void drop_io(fa_info *info) {
    for (size_t i = 0; i < info->nin; i++) free(info->in[i].name);
    for (size_t i = 0; i < info->nout; i++) free(info->out[i].name);
    free(info->in);
    free(info->out);
    info->in = info->out = NULL;
    info->nin = info->nout = 0;
}

/* Validate and read an OM buffer. 0 and *out on success, else an ACL code and `why`. */
static aclError parse_om(const uint8_t *p, size_t n, fa_info **out, char *why, size_t whylen) {
    if (n < OM_HEADER)
        PARSE_FAIL(ACL_ERROR_GE_EXEC_MODEL_DATA_SIZE_INVALID,
                   "model data is %zu bytes, less than the 256-byte OM header", n);
    if (rd32(p) != OM_MAGIC)
        PARSE_FAIL(ACL_ERROR_GE_EXEC_MODEL_DATA_SIZE_INVALID, "model data does not start with the OM magic IMOD");
    /* GE reads model_length at 0xB8 whatever the version (zero in real 1.0 files). Header 1.0
     * has no model_num: its platform_version sits at 0x9C instead of 0xA0. */
    uint32_t version = rd32(p + 8), length = rd32(p + 0x4C);
    int v2 = version >= 0x20000000u;
    uint64_t model_length = rd64(p + 0xB8);
    uint64_t payload = model_length ? model_length : length;
    if (payload != n - OM_HEADER)
        PARSE_FAIL(ACL_ERROR_GE_EXEC_MODEL_DATA_SIZE_INVALID,
                   "OM header says %llu payload bytes but the buffer holds %zu", (unsigned long long)payload,
                   n - OM_HEADER);

    fa_part parts[32];
    size_t nparts = 0;
    int wide = model_length != 0;
    if (read_table(p, n, wide, parts, &nparts) && read_table(p, n, !wide, parts, &nparts))
        PARSE_FAIL(ACL_ERROR_GE_EXEC_LOAD_MODEL_PARTITION_FAILED, "the OM partition table is unreadable");

    const fa_part *model_def = NULL, *inout = NULL, *weights = NULL;
    for (size_t i = 0; i < nparts; i++) {
        if (parts[i].type == 0) model_def = &parts[i];
        if (parts[i].type == 1) weights = &parts[i];
        if (parts[i].type == 8) inout = &parts[i];
    }
    if (!model_def)
        PARSE_FAIL(ACL_ERROR_GE_EXEC_LOAD_MODEL_PARTITION_FAILED, "the OM has no MODEL_DEF partition");

    fa_info *info = calloc(1, sizeof *info);
    if (!info) PARSE_FAIL(ACL_ERROR_GE_EXEC_LOAD_MODEL_PARTITION_FAILED, "out of host memory");
    info->refs = 1;
    info->version = version;
    info->model_num = v2 ? rd32(p + 0x9C) : 1;
    snprintf(info->platform_version, sizeof info->platform_version, "%.20s",
             (const char *)p + (v2 ? 0xA0 : 0x9C));

    /* MODEL_INOUT_INFO answers when it has both the input and the output block. */
    if (inout && !g_prefer_modeldef && parse_inout(inout, info)) {
        info_unref(info);
        PARSE_FAIL(ACL_ERROR_GE_EXEC_LOAD_MODEL_PARTITION_FAILED, "the MODEL_INOUT_INFO partition is corrupt");
    }
    int complete = info->in != NULL && info->out != NULL;
    int inout_kind = info->dyn_kind;
    if (!complete) {
        drop_io(info);
        if (!inout_kind) info->ngears = 0;
    }
    int has_weight = 0;
    if (parse_model_def(model_def, info, !complete, &has_weight)) {
        info_unref(info);
        PARSE_FAIL(ACL_ERROR_GE_EXEC_LOAD_MODEL_PARTITION_FAILED, "the MODEL_DEF partition is corrupt");
    }
    if (!has_weight && weights) info->weight = weights->size;
    *out = info;
    return ACL_SUCCESS;
}

/* SoC family (the "short SoC version"): prefix through the digits, plus a letter that a
 * digit follows (910B1 -> 910B, 310P3 -> 310P) or "_" plus two digits (910_9391 -> 910_93).
 * A letter without a digit after it is a first-generation variant (910A, 910ProB -> 910). */
static void soc_family(const char *s, char *out, size_t outlen) {
    size_t i = 0, n = strlen(s);
    while (i < n && !isdigit((unsigned char)s[i])) i++;
    while (i < n && isdigit((unsigned char)s[i])) i++;
    if (i + 1 < n && isalpha((unsigned char)s[i]) && isdigit((unsigned char)s[i + 1])) {
        i++;
    } else if (i < n && s[i] == '_') {
        size_t k = 0;
        for (i++; i < n && k < 2 && isdigit((unsigned char)s[i]); i++, k++) {
        }
    }
    snprintf(out, outlen, "%.*s", (int)i, s);
}

/* The common load path; caller holds g_mu and has checked the arguments. */
static int is_device_range(const void *p, size_t count); /* defined with the memory blocks below */

/* work / weight: memory the caller supplies (aclmdlLoadFromMemWithMem); NULL lets ACL allocate it. */
static aclError load_impl(const void *model, size_t size, uint32_t *model_id, int has_prio, int32_t prio,
                          const void *work, size_t work_size, const void *weight, size_t weight_size) {
    char why[256], fam_model[64], fam_dev[64];
    g_last_ptr = model;
    g_last_size = size;
    g_last_has_priority = has_prio;
    g_last_priority = prio;
    if (!g_inited) return fail(ACL_ERROR_GE_EXEC_NOT_INIT, "aclInit has not been called");
    fa_ctx *ctx = current_ctx();
    if (!ctx)
        return fail(ACL_ERROR_RT_CONTEXT_NULL,
                    "no current context on this thread: call aclrtSetDevice or aclrtSetCurrentContext");
    if ((work && !is_device_range(work, work_size)) || (weight && !is_device_range(weight, weight_size)))
        return fail(107000 /* RT_PARAM_INVALID */, "workPtr / weightPtr is not live device memory of that size");
    fa_info *info = NULL;
    aclError rc = parse_om(model, size, &info, why, sizeof why);
    if (rc) return fail(rc, "%s", why);
    if ((work && work_size < info->work) || (weight && weight_size < info->weight)) {
        aclError e = fail(145000 /* GE_PARAM_INVALID */, "the model needs %llu work and %llu weight bytes",
                          (unsigned long long)info->work, (unsigned long long)info->weight);
        info_unref(info);
        return e;
    }
    if (info->soc[0]) {
        soc_family(info->soc, fam_model, sizeof fam_model);
        soc_family(g_soc, fam_dev, sizeof fam_dev);
        if (strcmp(fam_model, fam_dev) != 0) {
            aclError e = fail(ACL_ERROR_RT_SOC_VERSION, "model soc %s does not match device soc %s", info->soc, g_soc);
            info_unref(info);
            return e;
        }
    }
    uint64_t need = (work ? 0 : info->work) + (weight ? 0 : info->weight), avail = device_free(ctx->device);
    if (need > avail) {
        aclError e = fail(ACL_ERROR_RT_MEMORY_ALLOCATION,
                          "device %d out of memory: model needs %llu bytes (work %llu + weight %llu), %llu free",
                          ctx->device, (unsigned long long)need, (unsigned long long)info->work,
                          (unsigned long long)info->weight, (unsigned long long)avail);
        info_unref(info);
        return e;
    }
    fa_model *m = calloc(1, sizeof *m);
    if (!m) {
        info_unref(info);
        return fail(ACL_ERROR_RT_MEMORY_ALLOCATION, "out of host memory");
    }
    m->id = g_next_id++;
    m->ctx = ctx;
    m->device = ctx->device;
    m->charge = need;
    m->info = info;
    m->next = g_models;
    g_models = m;
    g_dev[ctx->device].charged += need;
    *model_id = m->id;
    return ACL_SUCCESS;
}

static fa_model *find_model(uint32_t id) {
    for (fa_model *m = g_models; m; m = m->next)
        if (m->id == id) return m;
    return NULL;
}

/* ------------------------------------------------------------------------------------- */
/* ACL: process, devices, contexts                                                       */
/* ------------------------------------------------------------------------------------- */

FAKEACL_API aclError aclInit(const char *configPath) {
    (void)configPath;
    ENTER();
    if (g_inited) {
        g_init_refs++;
        LEAVE(fail(ACL_ERROR_REPEAT_INITIALIZE, "aclInit was already called (refcount %d)", g_init_refs));
    }
    g_inited = 1;
    g_finalized = 0;
    g_init_refs = 1;
    LEAVE(ACL_SUCCESS);
}

FAKEACL_API aclError aclFinalize(void) {
    ENTER();
    if (g_finalized) LEAVE(fail(ACL_ERROR_REPEAT_FINALIZE, "aclFinalize was already called"));
    g_inited = 0;
    g_finalized = 1;
    g_init_refs = 0;
    LEAVE(ACL_SUCCESS);
}

FAKEACL_API const char *aclGetRecentErrMsg(void) {
    if (!tl_err_set || tl_err_epoch != epoch_now()) return NULL;
    tl_err_set = 0;
    memcpy(tl_err_out, tl_err, sizeof tl_err_out);
    return tl_err_out;
}

#define NEED_INIT()                                                                  \
    do {                                                                             \
        if (!g_inited) LEAVE(fail(ACL_ERROR_UNINITIALIZE, "aclInit has not been called")); \
    } while (0)

#define NEED_DEVICE(dev)                                                                        \
    do {                                                                                        \
        if ((dev) < 0 || (uint32_t)(dev) >= g_device_count)                                     \
            LEAVE(fail(ACL_ERROR_RT_INVALID_DEVICEID, "device %d does not exist (count %u)", (int)(dev), \
                       g_device_count));                                                        \
    } while (0)

FAKEACL_API aclError aclrtSetDevice(int32_t deviceId) {
    ENTER();
    count_call(__func__);
    NEED_INIT();
    NEED_DEVICE(deviceId);
    fa_device *d = &g_dev[deviceId];
    if (!d->default_ctx) d->default_ctx = new_ctx(deviceId);
    if (!d->default_ctx) LEAVE(fail(ACL_ERROR_RT_MEMORY_ALLOCATION, "out of host memory"));
    set_current(d->default_ctx);
    LEAVE(ACL_SUCCESS);
}

FAKEACL_API aclError aclrtResetDevice(int32_t deviceId) {
    ENTER();
    count_call(__func__);
    NEED_INIT();
    NEED_DEVICE(deviceId);
    fa_device *d = &g_dev[deviceId];
    if (d->default_ctx) {
        d->default_ctx->live = 0;
        d->default_ctx = NULL;
    }
    LEAVE(ACL_SUCCESS);
}

FAKEACL_API aclError aclrtGetDeviceCount(uint32_t *count) {
    ENTER();
    if (!count) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "count is NULL"));
    NEED_INIT();
    *count = g_device_count;
    LEAVE(ACL_SUCCESS);
}

FAKEACL_API aclError aclrtGetRunMode(aclrtRunMode *runMode) {
    ENTER();
    if (!runMode) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "runMode is NULL"));
    NEED_INIT();
    *runMode = g_run_mode;
    LEAVE(ACL_SUCCESS);
}

FAKEACL_API aclError aclrtCreateContext(aclrtContext *context, int32_t deviceId) {
    ENTER();
    count_call(__func__);
    if (!context) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "context is NULL"));
    NEED_INIT();
    NEED_DEVICE(deviceId);
    fa_ctx *c = new_ctx(deviceId);
    if (!c) LEAVE(fail(ACL_ERROR_RT_MEMORY_ALLOCATION, "out of host memory"));
    set_current(c);
    *context = c;
    LEAVE(ACL_SUCCESS);
}

FAKEACL_API aclError aclrtDestroyContext(aclrtContext context) {
    ENTER();
    count_call(__func__);
    if (!context) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "context is NULL"));
    fa_ctx *c = find_ctx(context);
    if (!c) LEAVE(fail(ACL_ERROR_RT_INVALID_HANDLE, "context %p is not a live context", context));
    c->live = 0;
    for (int i = 0; i < MAX_DEVICES; i++)
        if (g_dev[i].default_ctx == c) g_dev[i].default_ctx = NULL;
    LEAVE(ACL_SUCCESS);
}

FAKEACL_API aclError aclrtSetCurrentContext(aclrtContext context) {
    ENTER();
    count_call(__func__);
    if (!context) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "context is NULL"));
    fa_ctx *c = find_ctx(context);
    if (!c) LEAVE(fail(ACL_ERROR_RT_INVALID_HANDLE, "context %p is not a live context", context));
    set_current(c);
    LEAVE(ACL_SUCCESS);
}

FAKEACL_API aclError aclrtGetCurrentContext(aclrtContext *context) {
    ENTER();
    if (!context) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "context is NULL"));
    fa_ctx *c = current_ctx();
    *context = c;
    if (!c) LEAVE(fail(ACL_ERROR_RT_CONTEXT_NULL, "this thread has no current context"));
    LEAVE(ACL_SUCCESS);
}

/* The device of the calling thread's current context; 107002 without one. */
FAKEACL_API aclError aclrtGetDevice(int32_t *deviceId) {
    ENTER();
    if (!deviceId) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "deviceId is NULL"));
    fa_ctx *c = current_ctx();
    if (!c) LEAVE(fail(ACL_ERROR_RT_CONTEXT_NULL, "this thread has no current context"));
    *deviceId = c->device;
    LEAVE(ACL_SUCCESS);
}

static int is_ddr_attr(int attr) { return attr == 0 || attr == 2 || attr == 3 || attr == 6 || attr == 7; }

FAKEACL_API aclError aclrtGetMemInfo(aclrtMemAttr attr, size_t *freeSize, size_t *totalSize) {
    ENTER();
    count_call(__func__);
    if (!freeSize || !totalSize) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "free or total is NULL"));
    if (attr < 0 || attr > 17) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "memory attribute %d is not an aclrtMemAttr", attr));
    NEED_INIT();
    fa_ctx *c = current_ctx();
    if (!c) LEAVE(fail(ACL_ERROR_RT_CONTEXT_NULL, "no current context on this thread"));
    int ddr_board = strstr(g_soc, "310") != NULL;
    /* DDR boards answer HBM kinds from DDR; HBM boards have no device DDR pool. */
    if (!ddr_board && is_ddr_attr(attr)) {
        *freeSize = *totalSize = 0;
        LEAVE(ACL_SUCCESS);
    }
    *freeSize = (size_t)device_free(c->device);
    *totalSize = (size_t)g_dev[c->device].total;
    LEAVE(ACL_SUCCESS);
}

#ifndef FAKEACL_OLD_CANN
FAKEACL_API aclError aclrtGetDeviceUtilizationRate(int32_t deviceId, aclrtUtilizationInfo *utilizationInfo) {
    ENTER();
    count_call(__func__);
    if (!utilizationInfo) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "utilizationInfo is NULL"));
    if (utilizationInfo->utilizationExtend)
        LEAVE(fail(ACL_ERROR_INVALID_PARAM, "utilizationExtend is a reserved parameter and must be NULL"));
    NEED_INIT();
    NEED_DEVICE(deviceId);
    utilizationInfo->cubeUtilization = g_dev[deviceId].util[0];
    utilizationInfo->vectorUtilization = g_dev[deviceId].util[1];
    utilizationInfo->aicpuUtilization = g_dev[deviceId].util[2];
    utilizationInfo->memoryUtilization = -1;
    LEAVE(ACL_SUCCESS);
}
#endif

#ifndef FAKEACL_OLD_CANN
FAKEACL_API aclError aclrtDeviceGetStreamPriorityRange(int32_t *leastPriority, int32_t *greatestPriority) {
    ENTER();
    if (!leastPriority || !greatestPriority)
        LEAVE(fail(ACL_ERROR_INVALID_PARAM, "leastPriority or greatestPriority is NULL"));
    NEED_INIT();
    *leastPriority = 7; /* the range aclrtCreateStreamWithConfig takes: 0 is the greatest */
    *greatestPriority = 0;
    LEAVE(ACL_SUCCESS);
}
#endif

FAKEACL_API const char *aclrtGetSocName(void) {
    LOCK();
    const char *out = (g_inited && !injected(__func__)) ? g_soc : NULL;
    UNLOCK();
    return out;
}

FAKEACL_API aclError aclrtGetVersion(int32_t *majorVersion, int32_t *minorVersion, int32_t *patchVersion) {
    ENTER();
    if (!majorVersion || !minorVersion || !patchVersion) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "NULL argument"));
    *majorVersion = 1;
    *minorVersion = 17;
    *patchVersion = 0;
    LEAVE(ACL_SUCCESS);
}

#ifndef FAKEACL_OLD_CANN
FAKEACL_API aclError aclsysGetVersionStr(char *pkgName, char *versionStr) {
    ENTER();
    if (!pkgName || !versionStr) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "NULL argument"));
    if (strcmp(pkgName, "CANN") != 0) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "no version for package %s", pkgName));
    snprintf(versionStr, 128, "%s", "8.0.RC3.fake");
    LEAVE(ACL_SUCCESS);
}
#endif

/* ------------------------------------------------------------------------------------- */
/* ACL: models                                                                           */
/* ------------------------------------------------------------------------------------- */

FAKEACL_API aclError aclmdlQuerySizeFromMem(const void *model, size_t modelSize, size_t *workSize,
                                            size_t *weightSize) {
    ENTER();
    g_last_ptr = model;
    g_last_size = modelSize;
    if (!model || modelSize == 0) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "model is NULL or modelSize is 0"));
    if (!workSize || !weightSize) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "workSize or weightSize is NULL"));
    if (!g_inited) LEAVE(fail(ACL_ERROR_GE_EXEC_NOT_INIT, "aclInit has not been called"));
    fa_info *info = NULL;
    char why[256];
    aclError rc = parse_om(model, modelSize, &info, why, sizeof why);
    if (rc) LEAVE(fail(rc, "%s", why));
    *workSize = (size_t)info->work;
    *weightSize = (size_t)info->weight;
    info_unref(info);
    LEAVE(ACL_SUCCESS);
}

FAKEACL_API aclError aclmdlLoadFromMem(const void *model, size_t modelSize, uint32_t *modelId) {
    ENTER();
    if (!model || modelSize == 0) {
        g_last_ptr = model;
        g_last_size = modelSize;
        LEAVE(fail(ACL_ERROR_INVALID_PARAM, "model is NULL or modelSize is 0"));
    }
    if (!modelId) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "modelId is NULL"));
    LEAVE(load_impl(model, modelSize, modelId, 0, 0, NULL, 0, NULL, 0));
}

FAKEACL_API aclError aclmdlLoadFromMemWithMem(const void *model, size_t modelSize, uint32_t *modelId, void *workPtr,
                                              size_t workSize, void *weightPtr, size_t weightSize) {
    ENTER();
    count_call(__func__);
    if (!model || modelSize == 0) {
        g_last_ptr = model;
        g_last_size = modelSize;
        LEAVE(fail(ACL_ERROR_INVALID_PARAM, "model is NULL or modelSize is 0"));
    }
    if (!modelId) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "modelId is NULL"));
    LEAVE(load_impl(model, modelSize, modelId, 0, 0, workPtr, workSize, weightPtr, weightSize));
}

FAKEACL_API aclError aclmdlUnload(uint32_t modelId) {
    ENTER();
    count_call(__func__);
    NEED_INIT();
    fa_ctx *c = current_ctx();
    if (!c) LEAVE(fail(ACL_ERROR_RT_CONTEXT_NULL, "no current context on this thread"));
    fa_model **pp = &g_models;
    while (*pp && (*pp)->id != modelId) pp = &(*pp)->next;
    fa_model *m = *pp;
    if (!m) LEAVE(fail(ACL_ERROR_GE_EXEC_MODEL_ID_INVALID, "no model is loaded with id %u", modelId));
    if (m->ctx != c) LEAVE(fail(ACL_ERROR_RT_MODEL_CONTEXT, "model %u was loaded in another context", modelId));
    *pp = m->next;
    g_dev[m->device].charged -= m->charge;
    info_unref(m->info);
    free(m);
    LEAVE(ACL_SUCCESS);
}

FAKEACL_API aclmdlDesc *aclmdlCreateDesc(void) {
    LOCK();
    aclmdlDesc *d = injected(__func__) ? NULL : calloc(1, sizeof *d);
    if (d) {
        d->next = g_descs;
        g_descs = d;
    }
    UNLOCK();
    return d;
}

FAKEACL_API aclError aclmdlDestroyDesc(aclmdlDesc *modelDesc) {
    ENTER();
    aclmdlDesc **pp = &g_descs;
    while (*pp && *pp != modelDesc) pp = &(*pp)->next;
    if (!modelDesc || !*pp) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "modelDesc is not a live aclmdlDesc"));
    *pp = modelDesc->next;
    info_unref(modelDesc->info);
    free(modelDesc);
    LEAVE(ACL_SUCCESS);
}

static void desc_fill(aclmdlDesc *d, fa_info *info) {
    info->refs++;
    info_unref(d->info);
    d->info = info;
}

FAKEACL_API aclError aclmdlGetDesc(aclmdlDesc *modelDesc, uint32_t modelId) {
    ENTER();
    count_call(__func__);
    if (!modelDesc || !find_desc(modelDesc)) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "modelDesc is not a live aclmdlDesc"));
    NEED_INIT();
    fa_model *m = find_model(modelId);
    if (!m) LEAVE(fail(ACL_ERROR_GE_EXEC_MODEL_ID_INVALID, "no model is loaded with id %u", modelId));
    desc_fill(modelDesc, m->info);
    modelDesc->model_id = modelId;
    LEAVE(ACL_SUCCESS);
}

#ifndef FAKEACL_OLD_CANN
FAKEACL_API aclError aclmdlGetDescFromMem(aclmdlDesc *modelDesc, const void *model, size_t modelSize) {
    ENTER();
    if (!modelDesc || !find_desc(modelDesc)) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "modelDesc is not a live aclmdlDesc"));
    g_last_ptr = model;
    g_last_size = modelSize;
    if (!model || modelSize == 0) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "model is NULL or modelSize is 0"));
    NEED_INIT();
    fa_info *info = NULL;
    char why[256];
    aclError rc = parse_om(model, modelSize, &info, why, sizeof why);
    if (rc) LEAVE(fail(rc, "%s", why));
    desc_fill(modelDesc, info);
    modelDesc->model_id = 0;
    info_unref(info);
    LEAVE(ACL_SUCCESS);
}

FAKEACL_API aclmdlConfigHandle *aclmdlCreateConfigHandle(void) {
    LOCK();
    aclmdlConfigHandle *h = injected(__func__) ? NULL : calloc(1, sizeof *h);
    if (h) {
        h->next = g_handles;
        g_handles = h;
    }
    UNLOCK();
    return h;
}

FAKEACL_API aclError aclmdlDestroyConfigHandle(aclmdlConfigHandle *handle) {
    ENTER();
    aclmdlConfigHandle **pp = &g_handles;
    while (*pp && *pp != handle) pp = &(*pp)->next;
    if (!handle || !*pp) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "handle is not a live aclmdlConfigHandle"));
    *pp = handle->next;
    free(handle);
    LEAVE(ACL_SUCCESS);
}

FAKEACL_API aclError aclmdlSetConfigOpt(aclmdlConfigHandle *handle, aclmdlConfigAttr attr, const void *attrValue,
                                        size_t valueSize) {
    ENTER();
    count_call(__func__);
    if (!handle || !find_handle(handle)) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "handle is not a live aclmdlConfigHandle"));
    if (!attrValue) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "attrValue is NULL"));
    switch (attr) {
    case ACL_MDL_PRIORITY_INT32:
        if (valueSize != sizeof(int32_t)) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "PRIORITY_INT32 needs 4 bytes"));
        memcpy(&handle->priority, attrValue, sizeof(int32_t));
        /* ACL checks it against aclrtDeviceGetStreamPriorityRange: greatest 0, least 7 */
        if (handle->priority < 0 || handle->priority > 7)
            LEAVE(fail(ACL_ERROR_INVALID_PARAM, "priority is outside the stream priority range [0, 7]"));
        handle->has_priority = 1;
        break;
    case ACL_MDL_LOAD_TYPE_SIZET:
        if (valueSize != sizeof(size_t)) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "LOAD_TYPE_SIZET needs a size_t"));
        memcpy(&handle->load_type, attrValue, sizeof(size_t));
        handle->has_type = 1;
        break;
    case ACL_MDL_MEM_ADDR_PTR:
        if (valueSize != sizeof(void *)) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "MEM_ADDR_PTR needs a void *"));
        memcpy(&handle->addr, attrValue, sizeof(void *));
        handle->has_addr = 1;
        break;
    case ACL_MDL_MEM_SIZET:
        if (valueSize != sizeof(size_t)) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "MEM_SIZET needs a size_t"));
        memcpy(&handle->size, attrValue, sizeof(size_t));
        handle->has_size = 1;
        break;
    case ACL_MDL_WEIGHT_ADDR_PTR:
    case ACL_MDL_WORKSPACE_ADDR_PTR:
        if (valueSize != sizeof(void *)) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "*_ADDR_PTR needs a void *"));
        memcpy(attr == ACL_MDL_WEIGHT_ADDR_PTR ? &handle->weight : &handle->work, attrValue, sizeof(void *));
        break;
    case ACL_MDL_WEIGHT_SIZET:
    case ACL_MDL_WORKSPACE_SIZET:
        if (valueSize != sizeof(size_t)) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "*_SIZET needs a size_t"));
        memcpy(attr == ACL_MDL_WEIGHT_SIZET ? &handle->weight_size : &handle->work_size, attrValue, sizeof(size_t));
        break;
    default:
        if (attr < 0 || attr > 29) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "unknown aclmdlConfigAttr %d", attr));
        break; /* a real attribute this fake does not model: accepted and ignored */
    }
    LEAVE(ACL_SUCCESS);
}

FAKEACL_API aclError aclmdlLoadWithConfig(const aclmdlConfigHandle *handle, uint32_t *modelId) {
    ENTER();
    if (!handle || !find_handle(handle)) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "handle is not a live aclmdlConfigHandle"));
    if (!modelId) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "modelId is NULL"));
    int with_mem = handle->has_type && handle->load_type == ACL_MDL_LOAD_FROM_MEM_WITH_MEM;
    if (!handle->has_type || (handle->load_type != ACL_MDL_LOAD_FROM_MEM && !with_mem))
        LEAVE(fail(ACL_ERROR_INVALID_PARAM, "only ACL_MDL_LOAD_TYPE_SIZET = 3 or 4 (from memory) is supported"));
    if (!handle->has_addr || !handle->addr || !handle->has_size || handle->size == 0)
        LEAVE(fail(ACL_ERROR_INVALID_PARAM, "MEM_ADDR_PTR and MEM_SIZET must be set for a load from memory"));
    if (!with_mem)
        LEAVE(load_impl(handle->addr, handle->size, modelId, handle->has_priority, handle->priority, NULL, 0, NULL, 0));
    LEAVE(load_impl(handle->addr, handle->size, modelId, handle->has_priority, handle->priority, handle->work,
                    handle->work_size, handle->weight, handle->weight_size));
}
#endif

/* ---- desc getters: plain values, 0 / -1 / NULL on a bad desc or index ---- */

static const fa_tensor *tensor_at(const aclmdlDesc *d, int output, size_t index) {
    if (!d || !find_desc(d) || !d->info) return NULL;
    const fa_info *info = d->info;
    if (output) return index < info->nout ? &info->out[index] : NULL;
    return index < info->nin ? &info->in[index] : NULL;
}

static size_t count_of(const aclmdlDesc *d, int output) {
    LOCK();
    size_t n = (d && find_desc(d) && d->info) ? (output ? d->info->nout : d->info->nin) : 0;
    UNLOCK();
    return n;
}

FAKEACL_API size_t aclmdlGetNumInputs(aclmdlDesc *modelDesc) { return count_of(modelDesc, 0); }
FAKEACL_API size_t aclmdlGetNumOutputs(aclmdlDesc *modelDesc) { return count_of(modelDesc, 1); }

static size_t size_of(const aclmdlDesc *d, int output, size_t index) {
    LOCK();
    const fa_tensor *t = tensor_at(d, output, index);
    size_t n = t ? (size_t)t->size : 0;
    UNLOCK();
    return n;
}

FAKEACL_API size_t aclmdlGetInputSizeByIndex(aclmdlDesc *modelDesc, size_t index) {
    return size_of(modelDesc, 0, index);
}
FAKEACL_API size_t aclmdlGetOutputSizeByIndex(aclmdlDesc *modelDesc, size_t index) {
    return size_of(modelDesc, 1, index);
}

static aclError dims_of(const char *func, const aclmdlDesc *d, int output, int v2, size_t index, aclmdlIODims *dims) {
    LOCK();
    int inj = injected(func);
    if (inj) LEAVE(fail(inj, "fakeacl: injected failure of %s (code %d)", func, inj));
    if (!dims) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "dims is NULL"));
    const fa_tensor *t = tensor_at(d, output, index);
    if (!t) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "no %s at index %zu in this desc", output ? "output" : "input", index));
    memset(dims, 0, sizeof *dims);
    snprintf(dims->name, sizeof dims->name, "%s", t->name ? t->name : "");
    int use2 = v2 && t->ndims2;
    dims->dimCount = use2 ? t->ndims2 : t->ndims;
    memcpy(dims->dims, use2 ? t->dims2 : t->dims, dims->dimCount * sizeof(int64_t));
    if (dims->dimCount == 1 && dims->dims[0] == -2) dims->dimCount = (size_t)-2; /* ACL_UNKNOWN_RANK */
    LEAVE(ACL_SUCCESS);
}

FAKEACL_API aclError aclmdlGetInputDims(const aclmdlDesc *modelDesc, size_t index, aclmdlIODims *dims) {
    return dims_of(__func__, modelDesc, 0, 0, index, dims);
}
FAKEACL_API aclError aclmdlGetOutputDims(const aclmdlDesc *modelDesc, size_t index, aclmdlIODims *dims) {
    return dims_of(__func__, modelDesc, 1, 0, index, dims);
}

#ifndef FAKEACL_OLD_CANN
FAKEACL_API aclError aclmdlGetInputDimsV2(const aclmdlDesc *modelDesc, size_t index, aclmdlIODims *dims) {
    return dims_of(__func__, modelDesc, 0, 1, index, dims);
}

FAKEACL_API aclError aclmdlGetInputDimsRange(const aclmdlDesc *modelDesc, size_t index, aclmdlIODimsRange *dimsRange) {
    ENTER();
    if (!dimsRange) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "dimsRange is NULL"));
    const fa_tensor *t = tensor_at(modelDesc, 0, index);
    if (!t) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "no input at index %zu in this desc", index));
    memset(dimsRange, 0, sizeof *dimsRange);
    dimsRange->rangeCount = t->nrange;
    memcpy(dimsRange->range, t->range, t->nrange * sizeof t->range[0]);
    LEAVE(ACL_SUCCESS);
}
#endif

static const char *name_of(const aclmdlDesc *d, int output, size_t index) {
    LOCK();
    const fa_tensor *t = tensor_at(d, output, index);
    const char *n = t ? t->name : NULL;
    UNLOCK();
    return n;
}

FAKEACL_API const char *aclmdlGetInputNameByIndex(const aclmdlDesc *modelDesc, size_t index) {
    return name_of(modelDesc, 0, index);
}
FAKEACL_API const char *aclmdlGetOutputNameByIndex(const aclmdlDesc *modelDesc, size_t index) {
    return name_of(modelDesc, 1, index);
}

static int32_t enum_of(const aclmdlDesc *d, int output, int want_dtype, size_t index) {
    LOCK();
    const fa_tensor *t = tensor_at(d, output, index);
    int32_t v = t ? (want_dtype ? t->dtype : t->format) : -1;
    UNLOCK();
    return v;
}

FAKEACL_API aclFormat aclmdlGetInputFormat(const aclmdlDesc *modelDesc, size_t index) {
    return enum_of(modelDesc, 0, 0, index);
}
FAKEACL_API aclFormat aclmdlGetOutputFormat(const aclmdlDesc *modelDesc, size_t index) {
    return enum_of(modelDesc, 1, 0, index);
}
FAKEACL_API aclDataType aclmdlGetInputDataType(const aclmdlDesc *modelDesc, size_t index) {
    return enum_of(modelDesc, 0, 1, index);
}
FAKEACL_API aclDataType aclmdlGetOutputDataType(const aclmdlDesc *modelDesc, size_t index) {
    return enum_of(modelDesc, 1, 1, index);
}

#define NEED_FILLED_DESC(d)                                                             \
    do {                                                                                \
        if (!(d) || !find_desc(d) || !(d)->info)                                        \
            LEAVE(fail(ACL_ERROR_INVALID_PARAM, "modelDesc is not a filled aclmdlDesc")); \
    } while (0)

FAKEACL_API aclError aclmdlGetDynamicBatch(const aclmdlDesc *modelDesc, aclmdlBatch *batch) {
    ENTER();
    if (!batch) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "batch is NULL"));
    NEED_FILLED_DESC(modelDesc);
    const fa_info *info = modelDesc->info;
    memset(batch, 0, sizeof *batch);
    if (info->dyn_kind == 2) {
        batch->batchCount = info->ngears;
        for (size_t i = 0; i < info->ngears; i++) batch->batch[i] = (uint64_t)info->gear[i][0];
    }
    LEAVE(ACL_SUCCESS);
}

FAKEACL_API aclError aclmdlGetDynamicHW(const aclmdlDesc *modelDesc, size_t index, aclmdlHW *hw) {
    (void)index;
    ENTER();
    if (!hw) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "hw is NULL"));
    NEED_FILLED_DESC(modelDesc);
    const fa_info *info = modelDesc->info;
    memset(hw, 0, sizeof *hw);
    if (info->dyn_kind == 3) {
        hw->hwCount = info->ngears;
        for (size_t i = 0; i < info->ngears; i++) {
            hw->hw[i][0] = (uint64_t)info->gear[i][0];
            hw->hw[i][1] = info->gear_len[i] > 1 ? (uint64_t)info->gear[i][1] : 0;
        }
    }
    LEAVE(ACL_SUCCESS);
}

FAKEACL_API aclError aclmdlGetInputDynamicGearCount(const aclmdlDesc *modelDesc, size_t index, size_t *gearCount) {
    (void)index;
    ENTER();
    if (!gearCount) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "gearCount is NULL"));
    NEED_FILLED_DESC(modelDesc);
    *gearCount = modelDesc->info->dyn_kind == 4 ? modelDesc->info->ngears : 0;
    LEAVE(ACL_SUCCESS);
}

FAKEACL_API aclError aclmdlGetInputDynamicDims(const aclmdlDesc *modelDesc, size_t index, aclmdlIODims *dims,
                                               size_t gearCount) {
    (void)index;
    ENTER();
    if (!dims) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "dims is NULL"));
    NEED_FILLED_DESC(modelDesc);
    const fa_info *info = modelDesc->info;
    size_t have = info->dyn_kind == 4 ? info->ngears : 0;
    if (gearCount != have)
        LEAVE(fail(ACL_ERROR_INVALID_PARAM, "gearCount %zu does not match the model's %zu gears", gearCount, have));
    /* Real ACL: each gear is every input's dims, in shape order, concatenated, -1s filled. */
    const fa_tensor *ord[4096];
    size_t nord = ordered_inputs(info, ord);
    for (size_t i = 0; i < have; i++) {
        memset(&dims[i], 0, sizeof dims[i]);
        size_t pos = 0;
        for (size_t k = 0; k < nord; k++) {
            int64_t d[ACL_MAX_DIM_CNT];
            input_dims_at(info, ord[k], info->gear[i], info->gear_len[i], d);
            for (size_t x = 0; x < ord[k]->ndims && pos < ACL_MAX_DIM_CNT; x++) dims[i].dims[pos++] = d[x];
        }
        dims[i].dimCount = pos;
    }
    LEAVE(ACL_SUCCESS);
}

/* ------------------------------------------------------------------------------------- */
/* ACL: memory, streams, data buffers, datasets, execution (acl-execute.md)              */
/* ------------------------------------------------------------------------------------- */

#define ACL_ERROR_RT_PARAM_INVALID 107000
#define ACL_ERROR_RT_STREAM_CONTEXT 107003
#define ACL_ERROR_GE_FAILURE 500002
#define ACL_ERROR_GE_DYNAMIC_INPUT_LENGTH_INVALID 145012
#define ACL_ERROR_GE_DYNAMIC_BATCH_SIZE_INVALID 145013
#define ACL_ERROR_RT_MODEL_EXECUTE 507011
#define ACL_ERROR_RT_FEATURE_NOT_SUPPORT 207000
#define GE_SIZE_SLACK 64
#define MBATCH_NAME "ascend_mbatch_shape_data"

typedef struct fa_block {
    uint8_t *ptr;
    size_t size, charge;
    int device, host, api; /* host: page-locked host memory (EP); api: 0 aclrtMalloc, 1 aclrtMallocHost */
    struct fa_block *next;
} fa_block;

struct aclDataBuffer {
    void *data;
    size_t size;
    struct aclDataBuffer *next;
};

struct aclmdlDataset {
    size_t n, cap;
    aclDataBuffer **bufs;
    aclTensorDesc **descs; /* per entry: the dataset's own copy (aclmdlSetDatasetTensorDesc), or NULL */
    int has_gear;
    size_t gear_len;
    int64_t gear[ACL_MAX_DIM_CNT];
    struct aclmdlDataset *next;
};

typedef struct fa_stream {
    fa_ctx *ctx;
    int live;
    struct fa_stream *next;
} fa_stream;

typedef struct {
    char name[48];
    uint64_t count;
} fa_counter;

static fa_block *g_blocks;
/* Freed blocks held back, oldest first, as the simulator holds them (sim_memory.FREED_BLOCKS /
 * FREED_BYTES): a stale pointer into one gets 107000 instead of a write into the heap, and the
 * heap cannot hand those addresses to another allocation while they are refused. */
#define FREED_BLOCKS 4096
#define FREED_BYTES (32u << 20)
static fa_block *g_freed, *g_freed_tail;
static size_t g_freed_n, g_freed_bytes;
static aclDataBuffer *g_bufs;
static aclmdlDataset *g_datasets;
static fa_stream *g_streams;
static fa_counter g_counters[128];
static uint64_t g_memcpy_kind[8];
#define CPY_LOG 16
typedef struct {
    void *dst;
    const void *src;
    size_t count;
    int kind;
} fa_copy;
static fa_copy g_cpy_log[CPY_LOG]; /* the last aclrtMemcpy calls, a ring */
static uint64_t g_cpy_seen;

/* Caller holds g_mu. */
static void count_call(const char *func) {
    for (size_t i = 0; i < sizeof g_counters / sizeof *g_counters; i++) {
        if (!g_counters[i].name[0]) snprintf(g_counters[i].name, sizeof g_counters[i].name, "%s", func);
        if (strcmp(g_counters[i].name, func) == 0) {
            g_counters[i].count++;
            return;
        }
    }
}

#define ENTER_COUNTED() \
    ENTER();            \
    count_call(__func__)

static uint64_t malloc_charge(size_t size, int policy) {
    int base = policy & ~(0x100 | 0x1000 | 0x100000);
    if (base == 6 || base == 7) return (size + 31) / 32 * 32; /* HUGE1G: no padding */
    return (size + 32 + 32 - 1) / 32 * 32;
}

static fa_block *find_block(const void *p, size_t count) {
    const uint8_t *q = p;
    for (fa_block *b = g_blocks; b; b = b->next)
        if (q >= b->ptr && q < b->ptr + (b->size ? b->size : 1) && (size_t)(b->ptr + b->size - q) >= count) return b;
    return NULL;
}

/* A pointer into a block the program gave back (and into no live one). */
static int was_freed(const void *p) {
    const uint8_t *q = p;
    if (find_block(p, 0)) return 0;
    for (fa_block *b = g_freed; b; b = b->next)
        if (q >= b->ptr && q < b->ptr + (b->size ? b->size : 1)) return 1;
    return 0;
}

static void release_oldest_freed(void) {
    fa_block *b = g_freed;
    g_freed = b->next;
    if (!g_freed) g_freed_tail = NULL;
    g_freed_n--;
    g_freed_bytes -= b->charge > b->size ? b->charge : b->size;
    free(b->ptr);
    free(b);
}

static int is_device_range(const void *p, size_t count) {
    fa_block *b = find_block(p, count);
    return b && !b->host;
}

/* Caller holds g_mu and has checked size > 0 and the context. */
static aclError alloc_block(int device, size_t size, int policy, int host, int api, void **out) {
    uint64_t charge = host ? 0 : malloc_charge(size, policy);
    if (charge > device_free(device))
        return fail(ACL_ERROR_RT_MEMORY_ALLOCATION, "device %d out of memory: %llu bytes asked, %llu free", device,
                    (unsigned long long)charge, (unsigned long long)device_free(device));
    fa_block *b = calloc(1, sizeof *b);
    void *mem = NULL;
    if (!b || posix_memalign(&mem, 64, charge > size ? charge : size)) {
        free(b);
        return fail(ACL_ERROR_RT_MEMORY_ALLOCATION, "out of host memory");
    }
    b->ptr = mem;
    b->size = size;
    b->charge = charge;
    b->device = device;
    b->host = host;
    b->api = api;
    b->next = g_blocks;
    g_blocks = b;
    g_dev[device].charged += charge;
    *out = mem;
    return ACL_SUCCESS;
}

static aclError free_block(void *p, int api, const char *what) {
    fa_block **pp = &g_blocks;
    while (*pp && ((*pp)->ptr != p || (*pp)->api != api)) pp = &(*pp)->next;
    if (!*pp) return fail(ACL_ERROR_RT_PARAM_INVALID, "%p is not a live %s pointer", p, what);
    fa_block *b = *pp;
    *pp = b->next;
    g_dev[b->device].charged -= b->charge;
    size_t bytes = b->charge > b->size ? b->charge : b->size;
    if (bytes > FREED_BYTES) { /* too big to hold: it goes at once (and glibc unmaps it) */
        free(b->ptr);
        free(b);
        return ACL_SUCCESS;
    }
    b->next = NULL;
    if (g_freed_tail) g_freed_tail->next = b; else g_freed = b;
    g_freed_tail = b;
    g_freed_n++;
    g_freed_bytes += bytes;
    while (g_freed && (g_freed_n > FREED_BLOCKS || g_freed_bytes > FREED_BYTES)) release_oldest_freed();
    return ACL_SUCCESS;
}

#define NEED_CTX(call)                                                                   \
    do {                                                                                 \
        if (!current_ctx()) LEAVE(fail(ACL_ERROR_RT_CONTEXT_NULL, "%s: no current context on this thread", call)); \
    } while (0)

FAKEACL_API aclError aclrtMalloc(void **devPtr, size_t size, int policy) {
    ENTER_COUNTED();
    if (!devPtr || size == 0) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "devPtr is NULL or size is 0"));
    NEED_CTX("aclrtMalloc");
    LEAVE(alloc_block(current_ctx()->device, size, policy, 0, 0, devPtr));
}

FAKEACL_API aclError aclrtFree(void *devPtr) {
    ENTER_COUNTED();
    if (!devPtr) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "devPtr is NULL"));
    LEAVE(free_block(devPtr, 0, "aclrtMalloc"));
}

/* aclrtMallocCached: aclrtMalloc's checks and charge (memory.cpp); no cache here to keep coherent. */
FAKEACL_API aclError aclrtMallocCached(void **devPtr, size_t size, int policy) {
    ENTER_COUNTED();
    if (!devPtr || size == 0) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "devPtr is NULL or size is 0"));
    NEED_CTX("aclrtMallocCached");
    LEAVE(alloc_block(current_ctx()->device, size, policy, 0, 0, devPtr));
}

/* aclrtMemFlush / aclrtMemInvalidate: NULL or size 0 is 100000; a range outside live device
 * memory is the runtime's invalid value (107000, as sim_exec records it). */
static aclError cache_op(void *devPtr, size_t size) {
    if (!devPtr || size == 0) return fail(ACL_ERROR_INVALID_PARAM, "devPtr is NULL or size is 0");
    if (!is_device_range(devPtr, size)) return fail(ACL_ERROR_RT_PARAM_INVALID, "%p (+%zu bytes) is not inside live device memory", devPtr, size);
    return ACL_SUCCESS;
}

FAKEACL_API aclError aclrtMemFlush(void *devPtr, size_t size) {
    ENTER_COUNTED();
    LEAVE(cache_op(devPtr, size));
}

FAKEACL_API aclError aclrtMemInvalidate(void *devPtr, size_t size) {
    ENTER_COUNTED();
    LEAVE(cache_op(devPtr, size));
}

FAKEACL_API aclError aclrtMallocHost(void **hostPtr, size_t size) {
    ENTER_COUNTED();
    if (!hostPtr || size == 0) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "hostPtr is NULL or size is 0"));
    NEED_CTX("aclrtMallocHost");
    /* RC: host and device are one, so this is device memory. */
    LEAVE(alloc_block(current_ctx()->device, size, 0, g_run_mode != 0, 1, hostPtr));
}

FAKEACL_API aclError aclrtFreeHost(void *hostPtr) {
    ENTER_COUNTED();
    if (!hostPtr) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "hostPtr is NULL"));
    LEAVE(free_block(hostPtr, 1, "aclrtMallocHost"));
}

/* Where a copy side may be: device memory is a live non-host block; host memory is anything
 * else, except that in EP a device block is not host-addressable. */
static int side_ok(const void *p, size_t count, int device) {
    if (was_freed(p)) return 0;
    fa_block *b = find_block(p, count);
    if (device) /* RC: the board's host memory is device memory (acllite copies D2D from numpy) */
        return (b && !b->host) || (g_run_mode == 0 && !b && !find_block(p, 0));
    return !b || b->host || g_run_mode == 0;
}

/* Which side of a copy of `kind` (0-5) is device memory; DEFAULT decides by the addresses. */
static void copy_sides(int kind, const void *src, const void *dst, size_t count, int *src_dev, int *dst_dev) {
    switch (kind) {
    case 0: *src_dev = 0; *dst_dev = 0; break;
    case 2: *src_dev = 1; *dst_dev = 0; break;
    case 3: *src_dev = 1; *dst_dev = 1; break;
    case 4: {
        fa_block *a = find_block(src, count), *b = find_block(dst, count);
        *src_dev = a && !a->host;
        *dst_dev = b && !b->host;
        break;
    }
    default: *src_dev = 0; *dst_dev = 1; break; /* 1 and 5 */
    }
}

FAKEACL_API aclError aclrtMemcpy(void *dst, size_t destMax, const void *src, size_t count, int kind) {
    ENTER_COUNTED();
    fa_copy *rec = &g_cpy_log[g_cpy_seen++ % CPY_LOG];
    rec->dst = dst;
    rec->src = src;
    rec->count = count;
    rec->kind = kind;
    if (count == 0) LEAVE(ACL_SUCCESS);
    if (!dst || !src) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "dst or src is NULL"));
    if (kind < 0 || kind > 5) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "kind %d is not accepted by aclrtMemcpy", kind));
    if (destMax == 0 || count > destMax)
        LEAVE(fail(ACL_ERROR_RT_PARAM_INVALID, "count %zu exceeds destMax %zu", count, destMax));
    if (dst == src) LEAVE(ACL_SUCCESS);
    NEED_CTX("aclrtMemcpy");
    int src_dev, dst_dev;
    copy_sides(kind, src, dst, count, &src_dev, &dst_dev);
    if (!side_ok(src, count, src_dev) || !side_ok(dst, count, dst_dev))
        LEAVE(fail(ACL_ERROR_RT_PARAM_INVALID, "the pointers do not match copy kind %d (or are not live memory)", kind));
    memmove(dst, src, count);
    g_memcpy_kind[kind]++;
    LEAVE(ACL_SUCCESS);
}

FAKEACL_API aclError aclrtMemset(void *devPtr, size_t maxCount, int32_t value, size_t count) {
    ENTER_COUNTED();
    if (count == 0) LEAVE(ACL_SUCCESS);
    if (!devPtr) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "devPtr is NULL"));
    if (count > maxCount) LEAVE(fail(ACL_ERROR_RT_PARAM_INVALID, "count %zu exceeds maxCount %zu", count, maxCount));
    NEED_CTX("aclrtMemset");
    if (was_freed(devPtr)) LEAVE(fail(ACL_ERROR_RT_PARAM_INVALID, "devPtr %p points into memory that was freed", devPtr));
    memset(devPtr, value, count);
    LEAVE(ACL_SUCCESS);
}

/* Host callbacks (defined at the end of the file): a sync waits for blocking ones. */
static void callbacks_wait_blocking(void *stream);
static void callbacks_drop_stream(fa_stream *s);
static void callbacks_reset(void);
static void drop_entry_descs(aclmdlDataset *d); /* with the tensor descs, below */

static fa_stream *find_stream(const void *s) {
    for (fa_stream *x = g_streams; x; x = x->next)
        if (x == s && x->live) return x;
    return NULL;
}

FAKEACL_API aclError aclrtCreateStream(void **stream) {
    ENTER_COUNTED();
    if (!stream) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "stream is NULL"));
    NEED_CTX("aclrtCreateStream");
    fa_stream *x = calloc(1, sizeof *x);
    if (!x) LEAVE(fail(ACL_ERROR_RT_MEMORY_ALLOCATION, "out of host memory"));
    x->ctx = current_ctx();
    x->live = 1;
    x->next = g_streams;
    g_streams = x;
    *stream = x;
    LEAVE(ACL_SUCCESS);
}

#ifndef FAKEACL_OLD_CANN
/* The priority (a larger one is taken as 7) and flags change how fast work is issued, not what it does. */
FAKEACL_API aclError aclrtCreateStreamWithConfig(void **stream, uint32_t priority, uint32_t flag) {
    (void)priority;
    (void)flag;
    LOCK();
    count_call(__func__);
    UNLOCK();
    return aclrtCreateStream(stream);
}
#endif

FAKEACL_API aclError aclrtDestroyStream(void *stream) {
    ENTER_COUNTED();
    if (!stream) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "stream is NULL"));
    fa_stream *x = find_stream(stream);
    if (!x) LEAVE(fail(ACL_ERROR_RT_INVALID_HANDLE, "%p is not a live stream", stream));
    x->live = 0; /* kept, so a stale handle stays safe to compare */
    callbacks_drop_stream(x);
    LEAVE(ACL_SUCCESS);
}

FAKEACL_API aclError aclrtSynchronizeStream(void *stream) {
    ENTER_COUNTED();
    NEED_CTX("aclrtSynchronizeStream");
    if (stream && !find_stream(stream)) LEAVE(fail(ACL_ERROR_RT_INVALID_HANDLE, "%p is not a live stream", stream));
    callbacks_wait_blocking(stream);
    LEAVE(ACL_SUCCESS);
}

/* The timeout is checked first ([-1, INT_MAX], else 107000); work here finishes at once, so
 * no timeout expires. */
FAKEACL_API aclError aclrtSynchronizeStreamWithTimeout(void *stream, int32_t timeout) {
    ENTER_COUNTED();
    if (timeout < -1) LEAVE(fail(107000 /* RT_PARAM_INVALID */, "timeout %d is not in [-1, INT_MAX]", timeout));
    NEED_CTX("aclrtSynchronizeStreamWithTimeout");
    if (stream && !find_stream(stream)) LEAVE(fail(ACL_ERROR_RT_INVALID_HANDLE, "%p is not a live stream", stream));
    LEAVE(ACL_SUCCESS);
}

static aclDataBuffer *find_buf(const aclDataBuffer *b) {
    for (aclDataBuffer *x = g_bufs; x; x = x->next)
        if (x == b) return x;
    return NULL;
}

static aclmdlDataset *find_dataset(const aclmdlDataset *d) {
    for (aclmdlDataset *x = g_datasets; x; x = x->next)
        if (x == d) return x;
    return NULL;
}

FAKEACL_API aclDataBuffer *aclCreateDataBuffer(void *data, size_t size) {
    LOCK();
    count_call(__func__);
    aclDataBuffer *b = injected(__func__) ? NULL : calloc(1, sizeof *b);
    if (b) {
        b->data = data;
        b->size = size;
        b->next = g_bufs;
        g_bufs = b;
    }
    UNLOCK();
    return b;
}

FAKEACL_API aclError aclDestroyDataBuffer(const aclDataBuffer *dataBuffer) {
    ENTER_COUNTED();
    aclDataBuffer **pp = &g_bufs;
    while (*pp && *pp != dataBuffer) pp = &(*pp)->next;
    if (!dataBuffer || !*pp) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "dataBuffer is not a live aclDataBuffer"));
    aclDataBuffer *b = *pp;
    *pp = b->next;
    free(b);
    LEAVE(ACL_SUCCESS);
}

FAKEACL_API void *aclGetDataBufferAddr(const aclDataBuffer *dataBuffer) {
    LOCK();
    aclDataBuffer *b = dataBuffer ? find_buf(dataBuffer) : NULL;
    void *p = b ? b->data : NULL;
    UNLOCK();
    return p;
}

FAKEACL_API size_t aclGetDataBufferSizeV2(const aclDataBuffer *dataBuffer) {
    LOCK();
    aclDataBuffer *b = dataBuffer ? find_buf(dataBuffer) : NULL;
    size_t n = b ? b->size : 0;
    UNLOCK();
    return n;
}

FAKEACL_API aclError aclUpdateDataBuffer(aclDataBuffer *dataBuffer, void *data, size_t size) {
    ENTER_COUNTED();
    if (!dataBuffer || !find_buf(dataBuffer)) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "dataBuffer is not a live aclDataBuffer"));
    dataBuffer->data = data;
    dataBuffer->size = size;
    LEAVE(ACL_SUCCESS);
}

FAKEACL_API aclmdlDataset *aclmdlCreateDataset(void) {
    LOCK();
    count_call(__func__);
    aclmdlDataset *d = injected(__func__) ? NULL : calloc(1, sizeof *d);
    if (d) {
        d->next = g_datasets;
        g_datasets = d;
    }
    UNLOCK();
    return d;
}

FAKEACL_API aclError aclmdlDestroyDataset(const aclmdlDataset *dataset) {
    ENTER_COUNTED();
    aclmdlDataset **pp = &g_datasets;
    while (*pp && *pp != dataset) pp = &(*pp)->next;
    if (!dataset || !*pp) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "dataset is not a live aclmdlDataset"));
    aclmdlDataset *d = *pp;
    *pp = d->next;
    drop_entry_descs(d);
    free(d->bufs);
    free(d->descs);
    free(d);
    LEAVE(ACL_SUCCESS);
}

FAKEACL_API aclError aclmdlAddDatasetBuffer(aclmdlDataset *dataset, aclDataBuffer *dataBuffer) {
    ENTER_COUNTED();
    if (!dataset || !dataBuffer || !find_dataset(dataset))
        LEAVE(fail(ACL_ERROR_INVALID_PARAM, "dataset or dataBuffer is NULL"));
    if (dataset->n == dataset->cap) {
        size_t cap = dataset->cap ? 2 * dataset->cap : 8;
        aclDataBuffer **more = realloc(dataset->bufs, cap * sizeof *more);
        if (!more) LEAVE(fail(ACL_ERROR_RT_MEMORY_ALLOCATION, "out of host memory"));
        dataset->bufs = more;
        aclTensorDesc **descs = realloc(dataset->descs, cap * sizeof *descs);
        if (!descs) LEAVE(fail(ACL_ERROR_RT_MEMORY_ALLOCATION, "out of host memory"));
        dataset->descs = descs;
        dataset->cap = cap;
    }
    dataset->descs[dataset->n] = NULL;
    dataset->bufs[dataset->n++] = dataBuffer;
    LEAVE(ACL_SUCCESS);
}

FAKEACL_API size_t aclmdlGetDatasetNumBuffers(const aclmdlDataset *dataset) {
    LOCK();
    aclmdlDataset *d = dataset ? find_dataset(dataset) : NULL;
    size_t n = d ? d->n : 0;
    UNLOCK();
    return n;
}

FAKEACL_API aclDataBuffer *aclmdlGetDatasetBuffer(const aclmdlDataset *dataset, size_t index) {
    LOCK();
    aclmdlDataset *d = dataset ? find_dataset(dataset) : NULL;
    aclDataBuffer *b = d && index < d->n ? d->bufs[index] : NULL;
    UNLOCK();
    return b;
}

/* ---- tensor descs and a dataset's entry descs (acl_base.h, acl_mdl.h) ----------------------
 * As hicann/ge tensor_desc_internal.cpp and model.cpp: aclCreateTensorDesc checks only a
 * negative count (NULL) and NULL dims with a positive count (NULL); the getters answer NULL
 * with -1 (type, format), 0 (dim count, element count, size), "" (name) and 100000 (DimV2,
 * also for an index past the dims); a first dim of -2 makes the dim count ACL_UNKNOWN_RANK;
 * the element count is 1 for no dims and 0 for a negative dim or a size_t overflow. A
 * dataset entry keeps its own copy of the desc set on it (NULL drops it) and frees it with
 * the dataset. A run whose inputs carry any desc gives every output entry a fresh empty one
 * (no dims, type and format -1). Unknown (freed, made-up) descs are treated as NULL here; on
 * a device they would be dangling pointers. */

#define ACL_UNKNOWN_RANK_COUNT 0xFFFFFFFFFFFFFFFEULL

struct aclTensorDesc {
    int dtype, format;
    size_t n;
    int64_t *dims;
    char *name;
    struct aclTensorDesc *next;
};

static aclTensorDesc *g_tdescs;

static aclTensorDesc *tdesc_new(int dtype, size_t n, const int64_t *dims, int format, const char *name) {
    aclTensorDesc *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->dims = calloc(n ? n : 1, sizeof *t->dims);
    t->name = strdup(name ? name : "");
    if (!t->dims || !t->name) {
        free(t->dims);
        free(t->name);
        free(t);
        return NULL;
    }
    if (n) memcpy(t->dims, dims, n * sizeof *dims);
    t->dtype = dtype;
    t->format = format;
    t->n = n;
    t->next = g_tdescs;
    g_tdescs = t;
    return t;
}

static void tdesc_free(aclTensorDesc *t) {
    free(t->dims);
    free(t->name);
    free(t);
}

/* Unlink and free `t` if it is live. Caller holds g_mu. */
static void tdesc_destroy(const aclTensorDesc *t) {
    aclTensorDesc **pp = &g_tdescs;
    while (*pp && *pp != t) pp = &(*pp)->next;
    if (!t || !*pp) return;
    aclTensorDesc *x = *pp;
    *pp = x->next;
    tdesc_free(x);
}

static aclTensorDesc *find_tdesc(const aclTensorDesc *t) {
    for (aclTensorDesc *x = g_tdescs; x; x = x->next)
        if (x == t) return x;
    return NULL;
}

/* Caller holds g_mu: a dataset's entry descs go with it. */
static void drop_entry_descs(aclmdlDataset *d) {
    for (size_t i = 0; i < d->n && d->descs; i++) {
        tdesc_destroy(d->descs[i]);
        d->descs[i] = NULL;
    }
}

FAKEACL_API aclTensorDesc *aclCreateTensorDesc(aclDataType dataType, int numDims, const int64_t *dims, aclFormat format) {
    LOCK();
    count_call(__func__);
    aclTensorDesc *t = NULL;
    if (numDims >= 0 && !(numDims > 0 && !dims) && !injected(__func__))
        t = tdesc_new(dataType, (size_t)numDims, dims, format, "");
    UNLOCK();
    return t;
}

FAKEACL_API void aclDestroyTensorDesc(const aclTensorDesc *desc) {
    LOCK();
    count_call(__func__);
    tdesc_destroy(desc);
    UNLOCK();
}

FAKEACL_API aclDataType aclGetTensorDescType(const aclTensorDesc *desc) {
    LOCK();
    aclTensorDesc *t = find_tdesc(desc);
    int v = t ? t->dtype : -1;
    UNLOCK();
    return v;
}

FAKEACL_API aclFormat aclGetTensorDescFormat(const aclTensorDesc *desc) {
    LOCK();
    aclTensorDesc *t = find_tdesc(desc);
    int v = t ? t->format : -1;
    UNLOCK();
    return v;
}

FAKEACL_API size_t aclGetTensorDescNumDims(const aclTensorDesc *desc) {
    LOCK();
    aclTensorDesc *t = find_tdesc(desc);
    size_t v = !t ? 0 : (t->n && t->dims[0] == -2) ? (size_t)ACL_UNKNOWN_RANK_COUNT : t->n;
    UNLOCK();
    return v;
}

FAKEACL_API aclError aclGetTensorDescDimV2(const aclTensorDesc *desc, size_t index, int64_t *dimSize) {
    ENTER_COUNTED();
    aclTensorDesc *t = find_tdesc(desc);
    if (!t) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "desc is NULL"));
    if (!dimSize) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "dimSize is NULL"));
    if (index >= t->n) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "index %zu is out of range: the desc has %zu dims", index, t->n));
    *dimSize = t->dims[index];
    LEAVE(ACL_SUCCESS);
}

static size_t element_count(const aclTensorDesc *t) {
    size_t count = 1;
    for (size_t i = 0; i < t->n; i++) {
        if (t->dims[i] < 0) return 0;
        if (t->dims[i] && count > SIZE_MAX / (size_t)t->dims[i]) return 0;
        count *= (size_t)t->dims[i];
    }
    return count;
}

FAKEACL_API size_t aclGetTensorDescElementCount(const aclTensorDesc *desc) {
    LOCK();
    aclTensorDesc *t = find_tdesc(desc);
    size_t v = t ? element_count(t) : 0;
    UNLOCK();
    return v;
}

FAKEACL_API size_t aclGetTensorDescSize(const aclTensorDesc *desc) {
    LOCK();
    aclTensorDesc *t = find_tdesc(desc);
    size_t v = 0;
    if (t) {
        size_t count = element_count(t), item = (size_t)(dtype_bits(t->dtype) + 7) / 8;
        v = item && count > SIZE_MAX / item ? 0 : count * item;
    }
    UNLOCK();
    return v;
}

FAKEACL_API const char *aclGetTensorDescName(aclTensorDesc *desc) {
    LOCK();
    aclTensorDesc *t = find_tdesc(desc);
    const char *v = t ? t->name : "";
    UNLOCK();
    return v;
}

FAKEACL_API void aclSetTensorDescName(aclTensorDesc *desc, const char *name) {
    LOCK();
    count_call(__func__);
    aclTensorDesc *t = find_tdesc(desc);
    char *copy = t ? strdup(name ? name : "") : NULL;
    if (copy) {
        free(t->name);
        t->name = copy;
    }
    UNLOCK();
}

FAKEACL_API aclError aclmdlSetDatasetTensorDesc(aclmdlDataset *dataset, aclTensorDesc *tensorDesc, size_t index) {
    ENTER_COUNTED();
    if (!dataset || !find_dataset(dataset)) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "dataset is NULL"));
    if (index >= dataset->n)
        LEAVE(fail(ACL_ERROR_INVALID_PARAM, "index %zu must be smaller than the dataset's %zu buffers", index, dataset->n));
    if (!tensorDesc) {
        tdesc_destroy(dataset->descs[index]);
        dataset->descs[index] = NULL;
        LEAVE(ACL_SUCCESS);
    }
    aclTensorDesc *src = find_tdesc(tensorDesc);
    if (!src) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "%p is not a live aclTensorDesc", (void *)tensorDesc));
    aclTensorDesc *held = dataset->descs[index];
    if (held) { /* ACL copies into the entry's desc: the handle stays */
        int64_t *dims = calloc(src->n ? src->n : 1, sizeof *dims);
        char *name = strdup(src->name);
        if (!dims || !name) {
            free(dims);
            free(name);
            LEAVE(fail(ACL_ERROR_RT_MEMORY_ALLOCATION, "out of host memory"));
        }
        if (src->n) memcpy(dims, src->dims, src->n * sizeof *dims);
        free(held->dims);
        free(held->name);
        held->dims = dims;
        held->name = name;
        held->n = src->n;
        held->dtype = src->dtype;
        held->format = src->format;
        LEAVE(ACL_SUCCESS);
    }
    dataset->descs[index] = tdesc_new(src->dtype, src->n, src->dims, src->format, src->name);
    if (!dataset->descs[index]) LEAVE(fail(ACL_ERROR_RT_MEMORY_ALLOCATION, "out of host memory"));
    LEAVE(ACL_SUCCESS);
}

FAKEACL_API aclTensorDesc *aclmdlGetDatasetTensorDesc(const aclmdlDataset *dataset, size_t index) {
    LOCK();
    aclmdlDataset *d = dataset ? find_dataset(dataset) : NULL;
    aclTensorDesc *t = d && index < d->n ? d->descs[index] : NULL;
    UNLOCK();
    return t;
}

/* Caller holds g_mu, after a run was launched: ModelExecute's fresh output descs when any input
 * entry carries one. */
static void describe_outputs(const aclmdlDataset *input, aclmdlDataset *output) {
    int described = 0;
    for (size_t i = 0; i < input->n; i++) described |= input->descs[i] != NULL;
    if (!described) return;
    for (size_t j = 0; j < output->n; j++) {
        tdesc_destroy(output->descs[j]);
        output->descs[j] = tdesc_new(-1, 0, NULL, -1, "");
    }
}

FAKEACL_API uint32_t fakeacl_live_tensor_descs(void) {
    uint32_t n = 0;
    LOCK();
    for (aclTensorDesc *t = g_tdescs; t; t = t->next) n++;
    UNLOCK();
    return n;
}

/* ---- gears ---------------------------------------------------------------------------- */

static int is_mbatch(const fa_tensor *t) { return t->name && strcmp(t->name, MBATCH_NAME) == 0; }

/* The user inputs in shape order (block 6 names, else input order); returns the count. */
static size_t ordered_inputs(const fa_info *info, const fa_tensor **out) {
    size_t n = 0;
    for (size_t k = 0; k < info->norder; k++)
        for (size_t i = 0; i < info->nin; i++)
            if (!is_mbatch(&info->in[i]) && info->in[i].name && strcmp(info->in[i].name, info->order[k]) == 0)
                out[n++] = &info->in[i];
    if (n) return n;
    for (size_t i = 0; i < info->nin; i++)
        if (!is_mbatch(&info->in[i])) out[n++] = &info->in[i];
    return n;
}

static size_t holes(const fa_tensor *t) {
    size_t h = 0;
    for (size_t d = 0; d < t->ndims; d++) h += t->dims[d] == -1;
    return h;
}

/* Input `t`'s dims at gear g (its own dims when static). */
static void input_dims_at(const fa_info *info, const fa_tensor *t, const int64_t *gear, size_t glen, int64_t *out) {
    memcpy(out, t->dims, t->ndims * sizeof *out);
    if (!info->dyn_kind || !gear) return;
    size_t skip = 0;
    if (info->dyn_kind == 4) {
        const fa_tensor *ord[4096];
        size_t n = ordered_inputs(info, ord);
        for (size_t i = 0; i < n && ord[i] != t; i++) skip += holes(ord[i]);
    }
    size_t v = skip;
    for (size_t d = 0; d < t->ndims; d++) {
        if (t->dims[d] != -1) continue;
        if (info->dyn_kind == 2) out[d] = gear[0];
        else if (v < glen) out[d] = gear[v++];
    }
}

static uint64_t nbytes(const int64_t *dims, size_t n, int dtype) {
    uint64_t count = 1;
    for (size_t i = 0; i < n; i++) count *= dims[i] > 0 ? (uint64_t)dims[i] : 0;
    return (count * (uint64_t)dtype_bits(dtype) + 7) / 8;
}

static size_t largest_gear(const fa_info *info) {
    size_t best = 0;
    double size = -1;
    for (size_t g = 0; g < info->ngears; g++) {
        double p = 1;
        for (size_t k = 0; k < info->gear_len[g]; k++) p *= (double)info->gear[g][k];
        if (p > size) {
            size = p;
            best = g;
        }
    }
    return best;
}

/* Output j's dims at gear g: block 5's "g,j,dims..." when recorded, else its -1 axes filled. */
static size_t output_dims_at(const fa_info *info, size_t j, int has_gear, size_t g, int64_t *out) {
    const fa_tensor *t = &info->out[j];
    memcpy(out, t->dims, t->ndims * sizeof *out);
    if (!info->dyn_kind || !has_gear) return t->ndims;
    for (size_t i = 0; i < info->nout_shapes; i++) {
        int64_t v[ACL_MAX_DIM_CNT + 2];
        size_t n = 0;
        int ok = 1;
        char *s = info->out_shapes[i];
        while (*s && n < ACL_MAX_DIM_CNT + 2) {
            char *end;
            long long x = strtoll(s, &end, 10);
            if (end == s) {
                ok = 0;
                break;
            }
            v[n++] = x;
            s = *end == ',' ? end + 1 : end;
            if (*end && *end != ',') {
                ok = 0;
                break;
            }
        }
        int neg = 0;
        for (size_t k = 2; k < n; k++) neg |= v[k] == -1;
        if (ok && n >= 2 && (size_t)v[0] == g && (size_t)v[1] == j && !neg) {
            memcpy(out, v + 2, (n - 2) * sizeof *out);
            return n - 2;
        }
    }
    size_t h = holes(t), glen = info->gear_len[g];
    if (!h) return t->ndims;
    if (info->dyn_kind == 2) {
        for (size_t d = 0; d < t->ndims; d++)
            if (t->dims[d] == -1) out[d] = info->gear[g][0];
        return t->ndims;
    }
    size_t v = 0;
    for (size_t d = 0; d < t->ndims; d++)
        if (t->dims[d] == -1) out[d] = v < glen ? info->gear[g][v++] : 0;
    if (v < h)
        for (size_t d = 0; d < t->ndims; d++) out[d] = t->dims[d] < 0 ? 0 : t->dims[d];
    return t->ndims;
}

static int find_gear(const fa_info *info, const int64_t *vals, size_t n, size_t *g) {
    for (size_t i = 0; i < info->ngears; i++) {
        if (info->gear_len[i] != n) continue;
        if (memcmp(info->gear[i], vals, n * sizeof *vals) == 0) {
            *g = i;
            return 1;
        }
    }
    return 0;
}

static void store_gear(fa_model *m, aclmdlDataset *ds, size_t g) {
    ds->has_gear = 1;
    ds->gear_len = m->info->gear_len[g];
    memcpy(ds->gear, m->info->gear[g], ds->gear_len * sizeof *ds->gear);
    m->has_gear = 1;
    m->cur_gear = g;
}

/* Write the gear into the mbatch buffer as the set call's internal H2D copy does. */
static aclError write_mbatch(aclDataBuffer *b, const int64_t *vals, size_t n) {
    if (!current_ctx()) return fail(ACL_ERROR_RT_CONTEXT_NULL, "no current context on this thread");
    int wide = b->size >= 8 * n;
    fa_block *blk = find_block(b->data, n * (wide ? 8 : 4));
    if (!blk || blk->host) return fail(ACL_ERROR_RT_PARAM_INVALID, "the mbatch buffer is not device memory");
    for (size_t i = 0; i < n; i++) {
        if (wide) {
            int64_t v = vals[i];
            memcpy((uint8_t *)b->data + 8 * i, &v, 8);
        } else {
            int32_t v = (int32_t)vals[i];
            memcpy((uint8_t *)b->data + 4 * i, &v, 4);
        }
    }
    return ACL_SUCCESS;
}

static aclDataBuffer *mbatch_buffer(aclmdlDataset *ds, size_t index) {
    if (index >= ds->n || !find_buf(ds->bufs[index]) || !ds->bufs[index]->data) return NULL;
    return ds->bufs[index];
}

FAKEACL_API aclError aclmdlSetDynamicBatchSize(uint32_t modelId, aclmdlDataset *dataset, size_t index, uint64_t batchSize) {
    ENTER_COUNTED();
    if (!dataset || !find_dataset(dataset)) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "dataset is NULL"));
    if (batchSize == 0) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "batchSize is 0"));
    aclDataBuffer *b = mbatch_buffer(dataset, index);
    if (!b) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "no data buffer with an address at index %zu", index));
    if (b->size < 4) LEAVE(fail(ACL_ERROR_GE_DYNAMIC_INPUT_LENGTH_INVALID, "the mbatch buffer holds %zu bytes", b->size));
    fa_model *m = find_model(modelId);
    if (!m) LEAVE(fail(ACL_ERROR_GE_EXEC_MODEL_ID_INVALID, "no model is loaded with id %u", modelId));
    int64_t v = (int64_t)batchSize;
    size_t g;
    if (m->info->dyn_kind != 2 || !find_gear(m->info, &v, 1, &g))
        LEAVE(fail(ACL_ERROR_GE_DYNAMIC_BATCH_SIZE_INVALID, "batch %llu is not a gear", (unsigned long long)batchSize));
    aclError rc = write_mbatch(b, &v, 1);
    if (rc) LEAVE(rc);
    store_gear(m, dataset, g);
    LEAVE(ACL_SUCCESS);
}

FAKEACL_API aclError aclmdlSetDynamicHWSize(uint32_t modelId, aclmdlDataset *dataset, size_t index, uint64_t height,
                                            uint64_t width) {
    ENTER_COUNTED();
    if (!dataset || !find_dataset(dataset)) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "dataset is NULL"));
    if (height == 0 || width == 0) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "height or width is 0"));
    aclDataBuffer *b = mbatch_buffer(dataset, index);
    if (!b) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "no data buffer with an address at index %zu", index));
    if (b->size < 8) LEAVE(fail(ACL_ERROR_GE_DYNAMIC_INPUT_LENGTH_INVALID, "the mbatch buffer holds %zu bytes", b->size));
    fa_model *m = find_model(modelId);
    if (!m) LEAVE(fail(ACL_ERROR_GE_EXEC_MODEL_ID_INVALID, "no model is loaded with id %u", modelId));
    int64_t v[2] = {(int64_t)height, (int64_t)width};
    size_t g;
    if (m->info->dyn_kind != 3 || !find_gear(m->info, v, 2, &g))
        LEAVE(fail(ACL_ERROR_GE_DYNAMIC_BATCH_SIZE_INVALID, "(%llu, %llu) is not a gear", (unsigned long long)height,
                   (unsigned long long)width));
    aclError rc = write_mbatch(b, v, 2);
    if (rc) LEAVE(rc);
    store_gear(m, dataset, g);
    LEAVE(ACL_SUCCESS);
}

FAKEACL_API aclError aclmdlSetInputDynamicDims(uint32_t modelId, aclmdlDataset *dataset, size_t index,
                                               const aclmdlIODims *dims) {
    ENTER_COUNTED();
    if (!dataset || !find_dataset(dataset) || !dims) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "dataset or dims is NULL"));
    if (dims->dimCount == 0) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "dimCount is 0"));
    aclDataBuffer *b = mbatch_buffer(dataset, index);
    if (!b) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "no data buffer with an address at index %zu", index));
    fa_model *m = find_model(modelId);
    if (!m) LEAVE(fail(ACL_ERROR_GE_EXEC_MODEL_ID_INVALID, "no model is loaded with id %u", modelId));
    const fa_tensor *ord[4096];
    size_t n = ordered_inputs(m->info, ord), pos = 0, nv = 0;
    int64_t vals[ACL_MAX_DIM_CNT];
    for (size_t i = 0; i < n; i++) {
        for (size_t d = 0; d < ord[i]->ndims; d++, pos++) {
            if (pos >= dims->dimCount || pos >= ACL_MAX_DIM_CNT)
                LEAVE(fail(ACL_ERROR_GE_DYNAMIC_INPUT_LENGTH_INVALID, "dims hold %zu values, fewer than the inputs' dims",
                           dims->dimCount));
            if (ord[i]->dims[d] == -1) {
                if (nv < ACL_MAX_DIM_CNT) vals[nv++] = dims->dims[pos];
            } else if (ord[i]->dims[d] != dims->dims[pos]) {
                LEAVE(fail(ACL_ERROR_GE_DYNAMIC_INPUT_LENGTH_INVALID, "dim %zu is %lld, the model's static dim is %lld",
                           pos, (long long)dims->dims[pos], (long long)ord[i]->dims[d]));
            }
        }
    }
    if (pos != dims->dimCount)
        LEAVE(fail(ACL_ERROR_GE_DYNAMIC_INPUT_LENGTH_INVALID, "dims hold %zu values, the inputs have %zu", dims->dimCount, pos));
    size_t g;
    if (m->info->dyn_kind != 4 || !find_gear(m->info, vals, nv, &g))
        LEAVE(fail(ACL_ERROR_GE_DYNAMIC_BATCH_SIZE_INVALID, "the dynamic dims are not a gear"));
    if (b->size < 4 * nv) LEAVE(fail(ACL_ERROR_GE_DYNAMIC_INPUT_LENGTH_INVALID, "the mbatch buffer holds %zu bytes", b->size));
    aclError rc = write_mbatch(b, vals, nv);
    if (rc) LEAVE(rc);
    store_gear(m, dataset, g);
    LEAVE(ACL_SUCCESS);
}

FAKEACL_API aclError aclmdlGetCurOutputDims(const aclmdlDesc *modelDesc, size_t index, aclmdlIODims *dims) {
    ENTER_COUNTED();
    if (!modelDesc || !find_desc(modelDesc) || !modelDesc->info || !dims)
        LEAVE(fail(ACL_ERROR_INVALID_PARAM, "modelDesc or dims is NULL"));
    const fa_info *info = modelDesc->info;
    if (index >= info->nout) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "output index %zu out of range", index));
    fa_model *m = find_model(modelDesc->model_id);
    if (!m) LEAVE(fail(ACL_ERROR_GE_EXEC_MODEL_ID_INVALID, "model %u is not loaded", modelDesc->model_id));
    memset(dims, 0, sizeof *dims);
    snprintf(dims->name, sizeof dims->name, "%s", info->out[index].name ? info->out[index].name : "");
    size_t g = m->has_gear ? m->cur_gear : largest_gear(info);
    dims->dimCount = output_dims_at(info, index, info->ngears > 0, g, dims->dims);
    LEAVE(ACL_SUCCESS);
}

FAKEACL_API aclError aclmdlGetInputIndexByName(const aclmdlDesc *modelDesc, const char *name, size_t *index) {
    ENTER_COUNTED();
    if (!modelDesc || !find_desc(modelDesc) || !modelDesc->info || !name || !index)
        LEAVE(fail(ACL_ERROR_INVALID_PARAM, "modelDesc, name or index is NULL"));
    for (size_t i = 0; i < modelDesc->info->nin; i++)
        if (modelDesc->info->in[i].name && strcmp(modelDesc->info->in[i].name, name) == 0) {
            *index = i;
            LEAVE(ACL_SUCCESS);
        }
    LEAVE(fail(ACL_ERROR_INVALID_PARAM, "the model has no input named %s", name));
}

/* ---- execute -------------------------------------------------------------------------- */

/* The placeholder values (acl_notebook/runtime/sim_outputs.py has the same function):
 * s = sum of all input bytes mod 256; c = the inputs' bytes concatenated (length L);
 * output j, byte k = c[k mod L] ^ ((s + 31 j + 7 k) mod 256). */
static void placeholder(const uint8_t **in, const size_t *len, size_t nin, uint8_t *out, size_t n, size_t j) {
    uint64_t total = 0;
    size_t L = 0;
    for (size_t i = 0; i < nin; i++) {
        for (size_t k = 0; k < len[i]; k++) total += in[i][k];
        L += len[i];
    }
    uint8_t s = (uint8_t)(total & 0xFF);
    size_t ii = 0, off = 0;
    while (ii < nin && len[ii] == 0) ii++;
    for (size_t k = 0; k < n; k++) {
        uint8_t key = (uint8_t)((s + 31 * j + 7 * k) & 0xFF);
        if (!L) {
            out[k] = key;
            continue;
        }
        out[k] = in[ii][off] ^ key;
        if (++off == len[ii]) {
            off = 0;
            do {
                ii = (ii + 1) % nin;
            } while (len[ii] == 0);
        }
    }
}

/* ---- events: stream work is complete at launch here, so a record takes its time at once ---- */
#define EVENT_SYNC 0x1u
#define EVENT_CAPTURE_STREAM_PROGRESS 0x2u
#define EVENT_TIME_LINE 0x8u
#define ACL_ERROR_RT_EVENT_TIMESTAMP_INVALID 107006
#define ACL_ERROR_RT_INTERNAL_ERROR 507000

typedef struct fa_event {
    fa_ctx *ctx;
    uint32_t flag;
    int live, recorded;
    double stamp_ms;
    struct fa_event *next;
} fa_event; /* kept after destroy, so a stale handle stays safe to compare */

static fa_event *g_events;

static fa_event *find_event(const void *e) {
    for (fa_event *x = g_events; x; x = x->next)
        if (x == e && x->live) return x;
    return NULL;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static aclError create_event(void **event, uint32_t flag, int has_flag) {
    if (!event) return fail(ACL_ERROR_INVALID_PARAM, "event is NULL");
    if (has_flag && (flag == 0 || (flag & ~(EVENT_SYNC | EVENT_CAPTURE_STREAM_PROGRESS | EVENT_TIME_LINE))))
        return fail(ACL_ERROR_RT_PARAM_INVALID, "flag 0x%x is 0 or has an unknown bit", flag);
    if (!current_ctx()) return fail(ACL_ERROR_RT_CONTEXT_NULL, "no current context on this thread");
    fa_event *x = calloc(1, sizeof *x);
    if (!x) return fail(ACL_ERROR_RT_MEMORY_ALLOCATION, "out of host memory");
    x->ctx = current_ctx();
    x->flag = has_flag ? flag : (EVENT_SYNC | EVENT_TIME_LINE);
    x->live = 1;
    x->next = g_events;
    g_events = x;
    *event = x;
    return ACL_SUCCESS;
}

FAKEACL_API aclError aclrtCreateEvent(void **event) {
    ENTER_COUNTED();
    LEAVE(create_event(event, 0, 0));
}

FAKEACL_API aclError aclrtCreateEventWithFlag(void **event, uint32_t flag) {
    ENTER_COUNTED();
    LEAVE(create_event(event, flag, 1));
}

#ifndef FAKEACL_OLD_CANN
FAKEACL_API aclError aclrtCreateEventExWithFlag(void **event, uint32_t flag) {
    ENTER_COUNTED();
    LEAVE(create_event(event, flag, 1));
}
#endif

/* The event checks every event call makes first: NULL 100000, not a live event 107017. */
#define NEED_EVENT(e, x)                                                                        \
    if (!(e)) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "event is NULL"));                             \
    fa_event *x = find_event(e);                                                                \
    if (!x) LEAVE(fail(ACL_ERROR_RT_INVALID_HANDLE, "%p is not a live event", (const void *)(e)))

/* A stream argument: 0 is the default stream; else live (107017) and of this context (107003). */
static aclError stream_ok(void *stream) {
    if (!stream) return ACL_SUCCESS;
    fa_stream *st = find_stream(stream);
    if (!st) return fail(ACL_ERROR_RT_INVALID_HANDLE, "%p is not a live stream", stream);
    if (st->ctx != current_ctx()) return fail(ACL_ERROR_RT_STREAM_CONTEXT, "the stream belongs to another context");
    return ACL_SUCCESS;
}

FAKEACL_API aclError aclrtDestroyEvent(void *event) {
    ENTER_COUNTED();
    NEED_EVENT(event, x);
    x->live = 0;
    LEAVE(ACL_SUCCESS);
}

FAKEACL_API aclError aclrtRecordEvent(void *event, void *stream) {
    ENTER_COUNTED();
    NEED_EVENT(event, x);
    NEED_CTX("aclrtRecordEvent");
    aclError rc = stream_ok(stream);
    if (rc) LEAVE(rc);
    x->recorded = 1;
    x->stamp_ms = now_ms();
    LEAVE(ACL_SUCCESS);
}

FAKEACL_API aclError aclrtResetEvent(void *event, void *stream) {
    ENTER_COUNTED();
    NEED_EVENT(event, x);
    NEED_CTX("aclrtResetEvent");
    aclError rc = stream_ok(stream);
    if (rc) LEAVE(rc);
    x->recorded = 0;
    LEAVE(ACL_SUCCESS);
}

FAKEACL_API aclError aclrtStreamWaitEvent(void *stream, void *event) {
    ENTER_COUNTED();
    NEED_EVENT(event, x);
    (void)x;
    NEED_CTX("aclrtStreamWaitEvent");
    LEAVE(stream_ok(stream));
}

FAKEACL_API aclError aclrtSynchronizeEvent(void *event) {
    ENTER_COUNTED();
    NEED_EVENT(event, x);
    (void)x;
    LEAVE(ACL_SUCCESS);
}

FAKEACL_API aclError aclrtQueryEventStatus(void *event, int *status) {
    ENTER_COUNTED();
    if (!status) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "status is NULL"));
    NEED_EVENT(event, x);
    *status = x->recorded ? 1 : 0; /* ACL_EVENT_RECORDED_STATUS_COMPLETE / _NOT_READY */
    LEAVE(ACL_SUCCESS);
}

#ifndef FAKEACL_OLD_CANN
/* The timeout is checked first ([-1, INT_MAX], else 107000); a record here is reached at once,
 * so no timeout expires. */
FAKEACL_API aclError aclrtSynchronizeEventWithTimeout(void *event, int32_t timeout) {
    ENTER_COUNTED();
    if (timeout < -1) LEAVE(fail(ACL_ERROR_RT_PARAM_INVALID, "timeout %d is not in [-1, INT_MAX]", timeout));
    NEED_EVENT(event, x);
    (void)x;
    LEAVE(ACL_SUCCESS);
}
#endif

/* Deprecated aclrtQueryEvent: work here completes at once, so no record is ever pending:
 * ACL_EVENT_STATUS_COMPLETE (0), recorded or not (the runtime's Event::Query). */
FAKEACL_API aclError aclrtQueryEvent(void *event, int *status) {
    ENTER_COUNTED();
    NEED_EVENT(event, x);
    (void)x;
    if (!status) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "status is NULL"));
    *status = 0;
    LEAVE(ACL_SUCCESS);
}

/* aclrtQueryEventWaitStatus: a stream's wait here is passed at launch, so every wait on an
 * event is done: ACL_EVENT_WAIT_STATUS_COMPLETE (0), as the runtime says when none waits. */
FAKEACL_API aclError aclrtQueryEventWaitStatus(void *event, int *status) {
    ENTER_COUNTED();
    NEED_EVENT(event, x);
    (void)x;
    if (!status) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "status is NULL"));
    *status = 0;
    LEAVE(ACL_SUCCESS);
}

FAKEACL_API aclError aclrtEventElapsedTime(float *ms, void *startEvent, void *endEvent) {
    ENTER_COUNTED();
    if (!ms) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "ms is NULL"));
    NEED_EVENT(startEvent, a);
    NEED_EVENT(endEvent, b);
    if (!a->recorded || !b->recorded) LEAVE(fail(ACL_ERROR_RT_INTERNAL_ERROR, "an event has no record"));
    if (!(a->flag & EVENT_TIME_LINE) || !(b->flag & EVENT_TIME_LINE))
        LEAVE(fail(ACL_ERROR_RT_EVENT_TIMESTAMP_INVALID, "an event was created without ACL_EVENT_TIME_LINE"));
    *ms = (float)(b->stamp_ms - a->stamp_ms);
    LEAVE(ACL_SUCCESS);
}

FAKEACL_API uint32_t fakeacl_live_events(void) {
    uint32_t n = 0;
    LOCK();
    for (fa_event *e = g_events; e; e = e->next) n += e->live != 0;
    UNLOCK();
    return n;
}

/* The runtime's checks of aclrtMemcpyAsync (not aclrtMemcpy's: count 0 is 107000 here), then
 * the copy at once: this library completes stream work when it is launched, which keeps the
 * launch order the simulator keeps. */
FAKEACL_API aclError aclrtMemcpyAsync(void *dst, size_t destMax, const void *src, size_t count, int kind,
                                      void *stream) {
    ENTER_COUNTED();
    if (!dst || !src) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "dst or src is NULL"));
    if (kind < 0 || kind > 5) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "kind %d is not accepted by aclrtMemcpyAsync", kind));
    if (count == 0 || count > destMax)
        LEAVE(fail(ACL_ERROR_RT_PARAM_INVALID, "count %zu is 0 or exceeds destMax %zu", count, destMax));
    NEED_CTX("aclrtMemcpyAsync");
    aclError st_rc = stream_ok(stream);
    if (st_rc) LEAVE(st_rc);
    int src_dev, dst_dev;
    copy_sides(kind, src, dst, count, &src_dev, &dst_dev);
    if (!side_ok(src, count, src_dev) || !side_ok(dst, count, dst_dev))
        LEAVE(fail(ACL_ERROR_RT_PARAM_INVALID, "the pointers do not match copy kind %d (or are not live memory)", kind));
    if (g_run_mode != 0 && !src_dev && !dst_dev)
        LEAVE(fail(ACL_ERROR_RT_FEATURE_NOT_SUPPORT, "an asynchronous host-to-host copy is not supported in EP mode"));
    if (dst == src) LEAVE(ACL_SUCCESS);
    memmove(dst, src, count);
    LEAVE(ACL_SUCCESS);
}

/* aclrtMemsetAsync: ACL's NULL check, the runtime's context and stream checks, then where the
 * memory lives: host memory is set by a memset_s that fails for count > maxCount (507000),
 * device memory is filled on the stream (count 0 a no-op, count > maxCount 207001). Stream
 * work completes at launch here, as for aclrtMemcpyAsync. */
FAKEACL_API aclError aclrtMemsetAsync(void *devPtr, size_t maxCount, int32_t value, size_t count, void *stream) {
    ENTER_COUNTED();
    if (!devPtr) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "devPtr is NULL"));
    NEED_CTX("aclrtMemsetAsync");
    aclError st_rc = stream_ok(stream);
    if (st_rc) LEAVE(st_rc);
    int device = is_device_range(devPtr, count ? count : 1);
    if (count > maxCount)
        LEAVE(fail(device ? ACL_ERROR_RT_MEMORY_ALLOCATION : ACL_ERROR_RT_INTERNAL_ERROR,
                   "count %zu exceeds maxCount %zu", count, maxCount));
    if (count == 0) LEAVE(ACL_SUCCESS);
    if (!side_ok(devPtr, count, device))
        LEAVE(fail(ACL_ERROR_RT_PARAM_INVALID, "devPtr %p + %zu bytes is not live memory", devPtr, count));
    memset(devPtr, value, count);
    LEAVE(ACL_SUCCESS);
}

static aclError execute_impl(uint32_t modelId, const aclmdlDataset *input, aclmdlDataset *output, void *stream, int async) {
    if (!input || !output || !find_dataset(input) || !find_dataset(output))
        return fail(ACL_ERROR_INVALID_PARAM, "input or output dataset is NULL");
    for (size_t i = 0; i < input->n; i++)
        if (!find_buf(input->bufs[i])) return fail(ACL_ERROR_INVALID_PARAM, "input entry %zu has no data buffer", i);
    for (size_t i = 0; i < output->n; i++)
        if (!find_buf(output->bufs[i])) return fail(ACL_ERROR_INVALID_PARAM, "output entry %zu has no data buffer", i);
    if (!g_inited) return fail(ACL_ERROR_GE_EXEC_NOT_INIT, "aclInit has not been called");
    fa_model *m = find_model(modelId);
    if (!m) return fail(ACL_ERROR_GE_EXEC_MODEL_ID_INVALID, "no model is loaded with id %u", modelId);
    fa_info *info = m->info;
    if (input->n != info->nin || output->n != info->nout)
        return fail(ACL_ERROR_GE_FAILURE, "%zu input / %zu output buffers given, the model has %zu / %zu", input->n,
                    output->n, info->nin, info->nout);
    if (!info->dyn_kind) {
        for (size_t i = 0; i < info->nin; i++)
            if (input->bufs[i]->data && input->bufs[i]->size + GE_SIZE_SLACK < info->in[i].size)
                return fail(ACL_ERROR_GE_FAILURE, "input %zu buffer has %zu bytes, the model needs %llu", i,
                            input->bufs[i]->size, (unsigned long long)info->in[i].size);
        for (size_t i = 0; i < info->nout; i++)
            if (output->bufs[i]->data && output->bufs[i]->size + GE_SIZE_SLACK < info->out[i].size)
                return fail(ACL_ERROR_GE_FAILURE, "output %zu buffer has %zu bytes, the model needs %llu", i,
                            output->bufs[i]->size, (unsigned long long)info->out[i].size);
    }
    fa_ctx *c = current_ctx();
    if (!c) return fail(ACL_ERROR_RT_CONTEXT_NULL, "no current context on this thread");
    if (m->ctx != c) return fail(ACL_ERROR_RT_MODEL_CONTEXT, "model %u was loaded in another context", modelId);
    if (stream) {
        fa_stream *st = find_stream(stream);
        if (!st) return fail(ACL_ERROR_RT_INVALID_HANDLE, "%p is not a live stream", stream);
        if (st->ctx != c) return fail(ACL_ERROR_RT_STREAM_CONTEXT, "the stream belongs to another context");
    }
    /* The gear: the dataset's, else whatever the mbatch buffer holds. */
    int has_gear = 0;
    size_t g = 0;
    if (info->dyn_kind) {
        if (input->has_gear) {
            has_gear = find_gear(info, input->gear, input->gear_len, &g);
        } else {
            size_t mb = info->nin, width = info->ngears ? info->gear_len[0] : 0;
            for (size_t i = 0; i < info->nin; i++)
                if (is_mbatch(&info->in[i])) mb = i;
            aclDataBuffer *b = mb < info->nin ? input->bufs[mb] : NULL;
            int64_t vals[ACL_MAX_DIM_CNT];
            int wide = b && b->size >= 8 * width;
            fa_block *blk = b && b->data ? find_block(b->data, width * (wide ? 8 : 4)) : NULL;
            if (!blk || blk->host || !width)
                return fail(ACL_ERROR_RT_MODEL_EXECUTE, "no gear is set and the mbatch input is not readable device memory");
            for (size_t k = 0; k < width; k++) {
                if (wide) {
                    memcpy(&vals[k], (uint8_t *)b->data + 8 * k, 8);
                } else {
                    int32_t v;
                    memcpy(&v, (uint8_t *)b->data + 4 * k, 4);
                    vals[k] = v;
                }
            }
            has_gear = find_gear(info, vals, width, &g);
        }
        if (!has_gear) return fail(ACL_ERROR_RT_MODEL_EXECUTE, "the mbatch input does not hold a gear of the model");
    }
    /* Inputs: each user input's bytes at this gear, read from device memory. */
    const uint8_t *in[4096];
    size_t len[4096], nin = 0;
    for (size_t i = 0; i < info->nin && nin < 4096; i++) {
        const fa_tensor *t = &info->in[i];
        if (is_mbatch(t)) continue;
        aclDataBuffer *b = input->bufs[i];
        uint64_t need = t->size;
        if (has_gear) {
            int64_t d[ACL_MAX_DIM_CNT];
            input_dims_at(info, t, info->gear[g], info->gear_len[g], d);
            need = nbytes(d, t->ndims, t->dtype);
        }
        size_t n = b->size < need ? b->size : (size_t)need;
        if (n) {
            fa_block *blk = find_block(b->data, n);
            if (!blk || blk->host) return fail(ACL_ERROR_RT_MODEL_EXECUTE, "input %zu is not in device memory", i);
        }
        in[nin] = b->data;
        len[nin++] = n;
    }
    /* Outputs: allocate the ones left NULL (sync only), then fill at this gear's size. */
    for (size_t j = 0; j < info->nout; j++) {
        aclDataBuffer *b = output->bufs[j];
        if (b->data) continue;
        if (async) return fail(ACL_ERROR_INVALID_PARAM, "aclmdlExecuteAsync cannot allocate outputs left with NULL data");
        size_t size = (size_t)info->out[j].size;
        aclError rc = alloc_block(m->device, size ? size : 1, 0, 0, 0, &b->data);
        if (rc) return rc;
        b->size = size;
    }
    for (size_t j = 0; j < info->nout; j++) {
        aclDataBuffer *b = output->bufs[j];
        int64_t d[ACL_MAX_DIM_CNT + 2];
        size_t nd = output_dims_at(info, j, has_gear, g, d);
        uint64_t want = info->dyn_kind ? nbytes(d, nd, info->out[j].dtype) : info->out[j].size;
        size_t n = b->size < want ? b->size : (size_t)want;
        if (!n) continue;
        fa_block *blk = find_block(b->data, n);
        if (!blk || blk->host) return fail(ACL_ERROR_RT_MODEL_EXECUTE, "output %zu is not in device memory", j);
        placeholder(in, len, nin, b->data, n, j);
    }
    if (has_gear) {
        m->has_gear = 1;
        m->cur_gear = g;
    }
    describe_outputs(input, output);
    return ACL_SUCCESS;
}

FAKEACL_API aclError aclmdlExecute(uint32_t modelId, const aclmdlDataset *input, aclmdlDataset *output) {
    ENTER_COUNTED();
    LEAVE(execute_impl(modelId, input, output, NULL, 0));
}

FAKEACL_API aclError aclmdlExecuteAsync(uint32_t modelId, const aclmdlDataset *input, aclmdlDataset *output,
                                        void *stream) {
    ENTER_COUNTED();
    LEAVE(execute_impl(modelId, input, output, stream, 1));
}

/* ---- control API for execution ---------------------------------------------------------- */

FAKEACL_API uint64_t fakeacl_calls(const char *func) {
    uint64_t n = 0;
    LOCK();
    for (size_t i = 0; i < sizeof g_counters / sizeof *g_counters && g_counters[i].name[0]; i++)
        if (func && strcmp(g_counters[i].name, func) == 0) n = g_counters[i].count;
    UNLOCK();
    return n;
}

FAKEACL_API uint64_t fakeacl_memcpy_calls(int32_t kind) {
    LOCK();
    uint64_t n = kind >= 0 && kind < 8 ? g_memcpy_kind[kind] : 0;
    UNLOCK();
    return n;
}

FAKEACL_API int32_t fakeacl_memcpy_at(uint32_t back, void **dst, const void **src, size_t *count) {
    LOCK();
    int32_t kind = -1;
    if (back < CPY_LOG && back < g_cpy_seen) {
        const fa_copy *rec = &g_cpy_log[(g_cpy_seen - 1 - back) % CPY_LOG];
        if (dst) *dst = rec->dst;
        if (src) *src = rec->src;
        if (count) *count = rec->count;
        kind = rec->kind;
    }
    UNLOCK();
    return kind;
}

FAKEACL_API uint32_t fakeacl_live_allocations(int32_t host) {
    uint32_t n = 0;
    LOCK();
    for (fa_block *b = g_blocks; b; b = b->next) n += host < 0 || b->host == host;
    UNLOCK();
    return n;
}

FAKEACL_API uint32_t fakeacl_live_data_buffers(void) {
    uint32_t n = 0;
    LOCK();
    for (aclDataBuffer *b = g_bufs; b; b = b->next) n++;
    UNLOCK();
    return n;
}

FAKEACL_API uint32_t fakeacl_live_datasets(void) {
    uint32_t n = 0;
    LOCK();
    for (aclmdlDataset *d = g_datasets; d; d = d->next) n++;
    UNLOCK();
    return n;
}

FAKEACL_API uint32_t fakeacl_live_streams(void) {
    uint32_t n = 0;
    LOCK();
    for (fa_stream *s = g_streams; s; s = s->next) n += s->live != 0;
    UNLOCK();
    return n;
}

/* Caller holds g_mu: drop every allocation, buffer, dataset and stream (fakeacl_reset). */
static void reset_execution(void) {
    while (g_blocks) {
        fa_block *b = g_blocks;
        g_blocks = b->next;
        free(b->ptr);
        free(b);
    }
    while (g_freed) release_oldest_freed();
    while (g_bufs) {
        aclDataBuffer *b = g_bufs;
        g_bufs = b->next;
        free(b);
    }
    while (g_datasets) {
        aclmdlDataset *d = g_datasets;
        g_datasets = d->next;
        drop_entry_descs(d);
        free(d->bufs);
        free(d->descs);
        free(d);
    }
    for (fa_stream *s = g_streams; s; s = s->next) s->live = 0;
    for (fa_event *e = g_events; e; e = e->next) e->live = 0;
    while (g_tdescs) {
        aclTensorDesc *t = g_tdescs;
        g_tdescs = t->next;
        tdesc_free(t);
    }
    memset(g_counters, 0, sizeof g_counters);
    memset(g_memcpy_kind, 0, sizeof g_memcpy_kind);
    memset(g_cpy_log, 0, sizeof g_cpy_log);
    g_cpy_seen = 0;
}

/* ------------------------------------------------------------------------------------- */
/* Control API                                                                           */
/* ------------------------------------------------------------------------------------- */

FAKEACL_API void fakeacl_reset(void) {
    LOCK();
    while (g_models) {
        fa_model *m = g_models;
        g_models = m->next;
        info_unref(m->info);
        free(m);
    }
    while (g_descs) {
        aclmdlDesc *d = g_descs;
        g_descs = d->next;
        info_unref(d->info);
        free(d);
    }
    while (g_handles) {
        aclmdlConfigHandle *h = g_handles;
        g_handles = h->next;
        free(h);
    }
    for (fa_ctx *c = g_ctxs; c; c = c->next) c->live = 0;
    reset_execution();
    callbacks_reset();
    memset(g_dev, 0, sizeof g_dev);
    default_memory();
    memset(g_inj, 0, sizeof g_inj);
    g_inited = g_finalized = g_init_refs = 0;
    g_device_count = 1;
    snprintf(g_soc, sizeof g_soc, "%s", "Ascend910B1");
    g_run_mode = 1;
    g_prefer_modeldef = 0;
    g_next_id = 1;
    g_last_ptr = NULL;
    g_last_size = 0;
    g_last_has_priority = 0;
    g_last_priority = 0;
    __atomic_add_fetch(&g_epoch, 1, __ATOMIC_RELEASE);
    UNLOCK();
}

FAKEACL_API int fakeacl_is_old_cann(void) {
#ifdef FAKEACL_OLD_CANN
    return 1;
#else
    return 0;
#endif
}

FAKEACL_API void fakeacl_set_device_count(uint32_t count) {
    LOCK();
    g_device_count = count > MAX_DEVICES ? MAX_DEVICES : count;
    UNLOCK();
}

FAKEACL_API void fakeacl_set_soc(const char *soc) {
    LOCK();
    snprintf(g_soc, sizeof g_soc, "%s", soc ? soc : "");
    UNLOCK();
}

FAKEACL_API void fakeacl_set_utilization(int32_t device, int32_t cube, int32_t vector, int32_t aicpu) {
    LOCK();
    if (device >= 0 && device < MAX_DEVICES) {
        g_dev[device].util[0] = cube;
        g_dev[device].util[1] = vector;
        g_dev[device].util[2] = aicpu;
    }
    UNLOCK();
}

FAKEACL_API void fakeacl_set_memory(int32_t device, uint64_t total, uint64_t idle) {
    LOCK();
    for (int i = 0; i < MAX_DEVICES; i++)
        if (device < 0 || device == i) {
            g_dev[i].total = total;
            g_dev[i].idle = idle;
        }
    UNLOCK();
}

FAKEACL_API void fakeacl_set_run_mode(int32_t mode) {
    LOCK();
    g_run_mode = mode;
    UNLOCK();
}

FAKEACL_API void fakeacl_set_prefer_modeldef(int32_t on) {
    LOCK();
    g_prefer_modeldef = on != 0;
    UNLOCK();
}

FAKEACL_API int fakeacl_fail(const char *func, int code, int after_n_calls) {
    int rc = -1;
    if (!func || !*func || strlen(func) >= sizeof g_inj[0].func || code == 0 || after_n_calls < 0) return -1;
    LOCK();
    for (int i = 0; i < MAX_INJECTIONS; i++) {
        if (g_inj[i].active) continue;
        snprintf(g_inj[i].func, sizeof g_inj[i].func, "%s", func);
        g_inj[i].code = code;
        g_inj[i].remaining = after_n_calls;
        g_inj[i].active = 1;
        rc = 0;
        break;
    }
    UNLOCK();
    return rc;
}

FAKEACL_API const void *fakeacl_last_model_ptr(void) {
    LOCK();
    const void *p = g_last_ptr;
    UNLOCK();
    return p;
}

FAKEACL_API size_t fakeacl_last_model_size(void) {
    LOCK();
    size_t n = g_last_size;
    UNLOCK();
    return n;
}

FAKEACL_API int fakeacl_last_priority(int32_t *priority) {
    LOCK();
    int has = g_last_has_priority;
    if (priority) *priority = g_last_priority;
    UNLOCK();
    return has;
}

FAKEACL_API uint32_t fakeacl_live_models(void) {
    uint32_t n = 0;
    LOCK();
    for (fa_model *m = g_models; m; m = m->next) n++;
    UNLOCK();
    return n;
}

FAKEACL_API uint32_t fakeacl_live_contexts(void) {
    uint32_t n = 0;
    LOCK();
    for (fa_ctx *c = g_ctxs; c; c = c->next) n += c->live != 0;
    UNLOCK();
    return n;
}

FAKEACL_API uint32_t fakeacl_live_descs(void) {
    uint32_t n = 0;
    LOCK();
    for (aclmdlDesc *d = g_descs; d; d = d->next) n++;
    UNLOCK();
    return n;
}

FAKEACL_API uint32_t fakeacl_live_config_handles(void) {
    uint32_t n = 0;
    LOCK();
    for (aclmdlConfigHandle *h = g_handles; h; h = h->next) n++;
    UNLOCK();
    return n;
}

FAKEACL_API int fakeacl_model_header(uint32_t model_id, uint32_t *version, uint32_t *model_num,
                                     char *platform_version, size_t platform_version_len) {
    LOCK();
    fa_model *m = find_model(model_id);
    if (m) {
        if (version) *version = m->info->version;
        if (model_num) *model_num = m->info->model_num;
        if (platform_version && platform_version_len)
            snprintf(platform_version, platform_version_len, "%s", m->info->platform_version);
    }
    UNLOCK();
    return m ? 0 : -1;
}

FAKEACL_API size_t fakeacl_sizeof(const char *type_name) {
    if (!type_name) return 0;
    if (!strcmp(type_name, "aclmdlIODims")) return sizeof(aclmdlIODims);
    if (!strcmp(type_name, "aclmdlIODimsRange")) return sizeof(aclmdlIODimsRange);
    if (!strcmp(type_name, "aclmdlBatch")) return sizeof(aclmdlBatch);
    if (!strcmp(type_name, "aclmdlHW")) return sizeof(aclmdlHW);
    if (!strcmp(type_name, "aclrtUtilizationInfo")) return sizeof(aclrtUtilizationInfo);
    return 0;
}

/* ------------------------------------------------------------------------------------- */
/* ACL: host callbacks on a stream (aclrtSubscribeReport / aclrtLaunchCallback /          */
/* aclrtProcessReport / aclrtUnSubscribeReport)                                          */
/* ------------------------------------------------------------------------------------- */
/*
 * Semantics (the simulator's sim_reports.py implements the same; codes from the runtime's
 * CbSubscribe and ApiImpl, see sim_reports.py):
 *  - a stream (NULL: the current context's default stream) is subscribed by one thread id
 *    (a pthread_t); again, by any thread: 107011. A thread id serves streams of one device
 *    only (107012 for a stream of another device).
 *  - aclrtLaunchCallback: block type not 0/1 or fn NULL 100000 -> context 107002 -> dead
 *    stream 107017 -> stream of another context 107003 -> stream not subscribed 107015.
 *    Work here completes at once, so the callback is posted to the subscribed thread at once.
 *  - aclrtProcessReport(timeout): timeout 0 or < -1 107000 -> calling thread subscribes no
 *    stream 107012 -> wait up to timeout ms (-1: forever) for a posted callback, else 507012
 *    (the driver's wait timeout). Every callback posted to the thread runs, on that thread,
 *    with g_mu released (a callback calls ACL itself).
 *  - aclrtSynchronizeStream waits for the stream's blocking callbacks to have returned;
 *    aclrtUnSubscribeReport (107011 not subscribed, 107012 another thread's) waits for the
 *    stream's posted callbacks to have run. Test scaffolding: both give up after 10 s.
 */
typedef void (*aclrtCallback)(void *userData);

typedef struct fa_sub {
    uint64_t thread;
    fa_ctx *ctx; /* the owner of a default stream (stream NULL) */
    fa_stream *stream;
    int device;
    struct fa_sub *next;
} fa_sub;

typedef struct fa_report {
    uint64_t thread;
    fa_ctx *ctx;
    fa_stream *stream;
    aclrtCallback fn;
    void *data;
    int block, claimed, done;
    struct fa_report *next;
} fa_report;

static fa_sub *g_subs;
static fa_report *g_reports; /* launch order */
static pthread_cond_t g_report_cv = PTHREAD_COND_INITIALIZER;
#define ACL_ERROR_RT_STREAM_SUBSCRIBE 107011
#define ACL_ERROR_RT_THREAD_SUBSCRIBE 107012
#define ACL_ERROR_RT_STREAM_NO_CB_REG 107015
#define ACL_ERROR_RT_REPORT_TIMEOUT 507012
#define CB_GIVE_UP_MS 10000

static int same_stream(const fa_ctx *c1, const fa_stream *s1, const fa_ctx *c2, const fa_stream *s2) {
    return s1 == s2 && (s1 || c1 == c2);
}

static fa_sub *sub_of(const fa_ctx *c, const fa_stream *s) {
    for (fa_sub *x = g_subs; x; x = x->next)
        if (same_stream(x->ctx, x->stream, c, s)) return x;
    return NULL;
}

/* The (context, stream) a call names: NULL is the current context's default stream. */
static aclError resolve_stream(void *stream, fa_ctx **c, fa_stream **s) {
    if (!stream) {
        *c = current_ctx();
        *s = NULL;
        if (!*c) return fail(ACL_ERROR_RT_CONTEXT_NULL, "no current context on this thread (stream NULL)");
        return ACL_SUCCESS;
    }
    *s = find_stream(stream);
    if (!*s) return fail(ACL_ERROR_RT_INVALID_HANDLE, "%p is not a live stream", stream);
    *c = (*s)->ctx;
    return ACL_SUCCESS;
}

static void deadline_in(struct timespec *t, long ms) {
    clock_gettime(CLOCK_REALTIME, t);
    t->tv_sec += ms / 1000;
    t->tv_nsec += (ms % 1000) * 1000000L;
    if (t->tv_nsec >= 1000000000L) {
        t->tv_sec++;
        t->tv_nsec -= 1000000000L;
    }
}

/* Caller holds g_mu: 1 while a report of (c, s) that is not done is pending (blocking only if `block`). */
static int pending_on(const fa_ctx *c, const fa_stream *s, int block) {
    for (fa_report *r = g_reports; r; r = r->next)
        if (!r->done && same_stream(r->ctx, r->stream, c, s) && (r->block || !block)) return 1;
    return 0;
}

/* Caller holds g_mu: wait (releasing it) until no such report is pending, or give up. */
static void wait_reports(const fa_ctx *c, const fa_stream *s, int block) {
    struct timespec until;
    deadline_in(&until, CB_GIVE_UP_MS);
    unsigned epoch = epoch_now();
    while (pending_on(c, s, block) && epoch == epoch_now())
        if (pthread_cond_timedwait(&g_report_cv, &g_mu, &until) != 0) break;
}

static void callbacks_wait_blocking(void *stream) {
    fa_ctx *c;
    fa_stream *s;
    if (resolve_stream(stream, &c, &s) == ACL_SUCCESS) wait_reports(c, s, 1);
}

static void callbacks_drop_stream(fa_stream *s) {
    for (fa_sub **pp = &g_subs; *pp;) {
        if ((*pp)->stream == s) {
            fa_sub *x = *pp;
            *pp = x->next;
            free(x);
        } else {
            pp = &(*pp)->next;
        }
    }
}

static void callbacks_reset(void) {
    while (g_subs) {
        fa_sub *x = g_subs;
        g_subs = x->next;
        free(x);
    }
    while (g_reports) {
        fa_report *r = g_reports;
        g_reports = r->next;
        free(r);
    }
    pthread_cond_broadcast(&g_report_cv);
}

FAKEACL_API aclError aclrtSubscribeReport(uint64_t threadId, void *stream) {
    ENTER_COUNTED();
    fa_ctx *c;
    fa_stream *s;
    aclError rc = resolve_stream(stream, &c, &s);
    if (rc) LEAVE(rc);
    if (sub_of(c, s)) LEAVE(fail(ACL_ERROR_RT_STREAM_SUBSCRIBE, "the stream is already subscribed"));
    for (fa_sub *x = g_subs; x; x = x->next)
        if (x->thread == threadId && x->device != c->device)
            LEAVE(fail(ACL_ERROR_RT_THREAD_SUBSCRIBE, "thread %llu serves streams of device %d, not %d",
                       (unsigned long long)threadId, x->device, c->device));
    fa_sub *x = calloc(1, sizeof *x);
    if (!x) LEAVE(fail(ACL_ERROR_RT_MEMORY_ALLOCATION, "out of host memory"));
    x->thread = threadId;
    x->ctx = c;
    x->stream = s;
    x->device = c->device;
    x->next = g_subs;
    g_subs = x;
    LEAVE(ACL_SUCCESS);
}

FAKEACL_API aclError aclrtUnSubscribeReport(uint64_t threadId, void *stream) {
    ENTER_COUNTED();
    fa_ctx *c;
    fa_stream *s;
    aclError rc = resolve_stream(stream, &c, &s);
    if (rc) LEAVE(rc);
    fa_sub *x = sub_of(c, s);
    if (!x) LEAVE(fail(ACL_ERROR_RT_STREAM_SUBSCRIBE, "the stream is not subscribed"));
    if (x->thread != threadId)
        LEAVE(fail(ACL_ERROR_RT_THREAD_SUBSCRIBE, "the stream is subscribed by thread %llu, not %llu",
                   (unsigned long long)x->thread, (unsigned long long)threadId));
    wait_reports(c, s, 0);
    x = sub_of(c, s);
    for (fa_sub **pp = &g_subs; x && *pp; pp = &(*pp)->next) {
        if (*pp == x) {
            *pp = x->next;
            free(x);
            break;
        }
    }
    LEAVE(ACL_SUCCESS);
}

FAKEACL_API aclError aclrtLaunchCallback(aclrtCallback fn, void *userData, int blockType, void *stream) {
    ENTER_COUNTED();
    if (blockType != 0 && blockType != 1) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "invalid block type %d", blockType));
    if (!fn) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "fn is NULL"));
    NEED_CTX("aclrtLaunchCallback");
    fa_ctx *c;
    fa_stream *s;
    aclError rc = resolve_stream(stream, &c, &s);
    if (rc) LEAVE(rc);
    if (c != current_ctx()) LEAVE(fail(ACL_ERROR_RT_STREAM_CONTEXT, "the stream belongs to another context"));
    fa_sub *x = sub_of(c, s);
    if (!x) LEAVE(fail(ACL_ERROR_RT_STREAM_NO_CB_REG, "the stream is not subscribed to any thread"));
    fa_report *r = calloc(1, sizeof *r);
    if (!r) LEAVE(fail(ACL_ERROR_RT_MEMORY_ALLOCATION, "out of host memory"));
    r->thread = x->thread;
    r->ctx = c;
    r->stream = s;
    r->fn = fn;
    r->data = userData;
    r->block = blockType;
    fa_report **pp = &g_reports;
    while (*pp) pp = &(*pp)->next;
    *pp = r;
    pthread_cond_broadcast(&g_report_cv);
    LEAVE(ACL_SUCCESS);
}

/* Caller holds g_mu: 1 if a posted, unclaimed report waits for thread `self`. */
static int waiting_for(uint64_t self) {
    for (fa_report *r = g_reports; r; r = r->next)
        if (r->thread == self && !r->claimed) return 1;
    return 0;
}

FAKEACL_API aclError aclrtProcessReport(int32_t timeout) {
    ENTER_COUNTED();
    if (timeout == 0 || timeout < -1) LEAVE(fail(ACL_ERROR_RT_PARAM_INVALID, "invalid timeout %d", timeout));
    uint64_t self = (uint64_t)pthread_self();
    int subscribed = 0;
    for (fa_sub *x = g_subs; x; x = x->next) subscribed |= x->thread == self;
    if (!subscribed) LEAVE(fail(ACL_ERROR_RT_THREAD_SUBSCRIBE, "thread %llu subscribes no stream", (unsigned long long)self));
    struct timespec until;
    deadline_in(&until, timeout > 0 ? timeout : 0);
    while (!waiting_for(self)) {
        int w = timeout < 0 ? pthread_cond_wait(&g_report_cv, &g_mu) : pthread_cond_timedwait(&g_report_cv, &g_mu, &until);
        if (w != 0 && !waiting_for(self))
            LEAVE(fail(ACL_ERROR_RT_REPORT_TIMEOUT, "no callback within %d ms", timeout));
    }
    for (fa_report *r = g_reports; r; r = r->next)
        if (r->thread == self && !r->claimed) r->claimed = 1;
    for (;;) { /* run the claimed ones in launch order, without g_mu */
        fa_report *r = g_reports;
        while (r && !(r->thread == self && r->claimed && !r->done)) r = r->next;
        if (!r) break;
        unsigned epoch = epoch_now();
        UNLOCK();
        r->fn(r->data);
        LOCK();
        if (epoch != epoch_now()) break; /* fakeacl_reset ran meanwhile: r is gone */
        r->done = 1;
        pthread_cond_broadcast(&g_report_cv);
    }
    for (fa_report **pp = &g_reports; *pp;) {
        if ((*pp)->done) {
            fa_report *r = *pp;
            *pp = r->next;
            free(r);
        } else {
            pp = &(*pp)->next;
        }
    }
    LEAVE(ACL_SUCCESS);
}

FAKEACL_API uint32_t fakeacl_pending_callbacks(void) {
    uint32_t n = 0;
    LOCK();
    for (fa_report *r = g_reports; r; r = r->next) n += !r->done;
    UNLOCK();
    return n;
}
