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
 * aclmdlGetDescFromMem, aclmdlGetInputDimsV2, aclmdlGetInputDimsRange and the
 * aclmdlLoadWithConfig family) to test lazy symbol resolution.
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
 *  - aclmdlLoadWithConfig supports only LOAD_TYPE_SIZET = 3 (from memory); other load
 *    types, a missing address or size give 100000.
 *  - A tensor of unknown rank (GE shape {-2}) reports dimCount = ACL_UNKNOWN_RANK.
 *  - aclmdlGetDynamicHW / aclmdlGetInputDynamicGearCount / aclmdlGetInputDynamicDims ignore
 *    their index argument (ACL documents it as reserved, -1). Each dims gear is reported as
 *    the gear's own values (dimCount = values in that gear).
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

_Static_assert(sizeof(aclmdlIODims) == 1160, "aclmdlIODims size");
_Static_assert(offsetof(aclmdlIODims, dimCount) == 128, "aclmdlIODims.dimCount");
_Static_assert(offsetof(aclmdlIODims, dims) == 136, "aclmdlIODims.dims");
_Static_assert(sizeof(aclmdlIODimsRange) == 2056, "aclmdlIODimsRange size");
_Static_assert(sizeof(aclmdlBatch) == 1032, "aclmdlBatch size");
_Static_assert(sizeof(aclmdlHW) == 2056, "aclmdlHW size");

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
} fa_info; /* shared, refcounted, by a loaded model and the descs filled from it */

typedef struct fa_model {
    uint32_t id;
    fa_ctx *ctx;
    int device;
    uint64_t charge;
    fa_info *info;
    struct fa_model *next;
} fa_model;

struct aclmdlDesc {
    fa_info *info;
    struct aclmdlDesc *next;
};

struct aclmdlConfigHandle {
    int has_type, has_addr, has_size, has_priority;
    size_t load_type, size;
    const void *addr;
    int32_t priority;
    struct aclmdlConfigHandle *next;
};

typedef struct {
    fa_ctx *default_ctx;
    uint64_t total, idle, charged;
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

static void info_unref(fa_info *info) {
    if (!info || --info->refs > 0) return;
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
        } /* 5 and 6 (output shapes, shape order) are not exposed by the getters we serve */
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
static aclError load_impl(const void *model, size_t size, uint32_t *model_id, int has_prio, int32_t prio) {
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
    fa_info *info = NULL;
    aclError rc = parse_om(model, size, &info, why, sizeof why);
    if (rc) return fail(rc, "%s", why);
    if (info->soc[0]) {
        soc_family(info->soc, fam_model, sizeof fam_model);
        soc_family(g_soc, fam_dev, sizeof fam_dev);
        if (strcmp(fam_model, fam_dev) != 0) {
            aclError e = fail(ACL_ERROR_RT_SOC_VERSION, "model soc %s does not match device soc %s", info->soc, g_soc);
            info_unref(info);
            return e;
        }
    }
    uint64_t need = info->work + info->weight, avail = device_free(ctx->device);
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

static int is_ddr_attr(int attr) { return attr == 0 || attr == 2 || attr == 3 || attr == 6 || attr == 7; }

FAKEACL_API aclError aclrtGetMemInfo(aclrtMemAttr attr, size_t *freeSize, size_t *totalSize) {
    ENTER();
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
    LEAVE(load_impl(model, modelSize, modelId, 0, 0));
}

FAKEACL_API aclError aclmdlUnload(uint32_t modelId) {
    ENTER();
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
    if (!modelDesc || !find_desc(modelDesc)) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "modelDesc is not a live aclmdlDesc"));
    NEED_INIT();
    fa_model *m = find_model(modelId);
    if (!m) LEAVE(fail(ACL_ERROR_GE_EXEC_MODEL_ID_INVALID, "no model is loaded with id %u", modelId));
    desc_fill(modelDesc, m->info);
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
    if (!handle || !find_handle(handle)) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "handle is not a live aclmdlConfigHandle"));
    if (!attrValue) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "attrValue is NULL"));
    switch (attr) {
    case ACL_MDL_PRIORITY_INT32:
        if (valueSize != sizeof(int32_t)) LEAVE(fail(ACL_ERROR_INVALID_PARAM, "PRIORITY_INT32 needs 4 bytes"));
        memcpy(&handle->priority, attrValue, sizeof(int32_t));
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
    if (!handle->has_type || handle->load_type != ACL_MDL_LOAD_FROM_MEM)
        LEAVE(fail(ACL_ERROR_INVALID_PARAM, "only ACL_MDL_LOAD_TYPE_SIZET = 3 (from memory) is supported"));
    if (!handle->has_addr || !handle->addr || !handle->has_size || handle->size == 0)
        LEAVE(fail(ACL_ERROR_INVALID_PARAM, "MEM_ADDR_PTR and MEM_SIZET must be set for a load from memory"));
    LEAVE(load_impl(handle->addr, handle->size, modelId, handle->has_priority, handle->priority));
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
    for (size_t i = 0; i < have; i++) {
        memset(&dims[i], 0, sizeof dims[i]);
        dims[i].dimCount = info->gear_len[i];
        memcpy(dims[i].dims, info->gear[i], info->gear_len[i] * sizeof(int64_t));
    }
    LEAVE(ACL_SUCCESS);
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
    return 0;
}
