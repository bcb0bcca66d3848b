/*
 * fakeacl.h - the ACL C ABI subset that tests/abi/fakeacl.c exports, plus its control API.
 *
 * Types, struct layouts, enum values and error numbers are the public AscendCL headers'
 * (facts recorded in shared/docs/acl-api.md sections 2-5). Nothing here is copied text: it
 * is the smallest declaration set that lets the compiler check our definitions.
 */
#ifndef FAKEACL_H
#define FAKEACL_H

#include <stddef.h>
#include <stdint.h>

#define FAKEACL_API __attribute__((visibility("default")))

typedef int aclError;
typedef void *aclrtContext;
typedef int aclDataType;
typedef int aclFormat;
typedef int aclrtRunMode;
typedef int aclrtMemAttr;
typedef int aclmdlConfigAttr;
typedef struct aclmdlDesc aclmdlDesc;
typedef struct aclmdlConfigHandle aclmdlConfigHandle;
typedef struct aclDataBuffer aclDataBuffer;
typedef struct aclmdlDataset aclmdlDataset;
typedef struct aclTensorDesc aclTensorDesc;

#define ACL_MAX_DIM_CNT 128
#define ACL_MAX_TENSOR_NAME_LEN 128
#define ACL_MAX_BATCH_NUM 128
#define ACL_MAX_HW_NUM 128

typedef struct aclmdlIODims {
    char name[ACL_MAX_TENSOR_NAME_LEN];
    size_t dimCount;
    int64_t dims[ACL_MAX_DIM_CNT];
} aclmdlIODims;

typedef struct aclmdlIODimsRange {
    size_t rangeCount;
    int64_t range[ACL_MAX_DIM_CNT][2];
} aclmdlIODimsRange;

typedef struct aclmdlBatch {
    size_t batchCount;
    uint64_t batch[ACL_MAX_BATCH_NUM];
} aclmdlBatch;

typedef struct aclmdlHW {
    size_t hwCount;
    uint64_t hw[ACL_MAX_HW_NUM][2];
} aclmdlHW;

typedef struct aclrtUtilizationExtendInfo aclrtUtilizationExtendInfo;

typedef struct aclrtUtilizationInfo {
    int32_t cubeUtilization;
    int32_t vectorUtilization;
    int32_t aicpuUtilization;
    int32_t memoryUtilization;
    aclrtUtilizationExtendInfo *utilizationExtend; /* reserved: must be NULL */
} aclrtUtilizationInfo;

/* Error codes (acl_base_rt.h, rt_error_codes.h, ge_error_codes.h). */
#define ACL_SUCCESS 0
#define ACL_ERROR_INVALID_PARAM 100000
#define ACL_ERROR_UNINITIALIZE 100001
#define ACL_ERROR_REPEAT_INITIALIZE 100002
#define ACL_ERROR_REPEAT_FINALIZE 100037
#define ACL_ERROR_GE_EXEC_NOT_INIT 145001
#define ACL_ERROR_GE_EXEC_MODEL_ID_INVALID 145003
#define ACL_ERROR_GE_EXEC_MODEL_DATA_SIZE_INVALID 145006
#define ACL_ERROR_GE_EXEC_LOAD_MODEL_PARTITION_FAILED 545002
#define ACL_ERROR_RT_INVALID_DEVICEID 107001
#define ACL_ERROR_RT_CONTEXT_NULL 107002
#define ACL_ERROR_RT_MODEL_CONTEXT 107004
#define ACL_ERROR_RT_INVALID_HANDLE 107017
#define ACL_ERROR_RT_MEMORY_ALLOCATION 207001
#define ACL_ERROR_RT_SOC_VERSION 507008

/* aclmdlConfigAttr values we honour, and the FROM_MEM / FROM_MEM_WITH_MEM load types. */
#define ACL_MDL_PRIORITY_INT32 0
#define ACL_MDL_LOAD_TYPE_SIZET 1
#define ACL_MDL_MEM_ADDR_PTR 3
#define ACL_MDL_MEM_SIZET 4
#define ACL_MDL_WEIGHT_ADDR_PTR 5
#define ACL_MDL_WEIGHT_SIZET 6
#define ACL_MDL_WORKSPACE_ADDR_PTR 7
#define ACL_MDL_WORKSPACE_SIZET 8
#define ACL_MDL_LOAD_FROM_MEM 3
#define ACL_MDL_LOAD_FROM_MEM_WITH_MEM 4

/* ---- control API (not part of ACL) ---- */
FAKEACL_API void fakeacl_reset(void);
FAKEACL_API int fakeacl_is_old_cann(void);
FAKEACL_API void fakeacl_set_device_count(uint32_t count);
FAKEACL_API void fakeacl_set_soc(const char *soc);
FAKEACL_API void fakeacl_set_utilization(int32_t device, int32_t cube, int32_t vector, int32_t aicpu);
FAKEACL_API void fakeacl_set_memory(int32_t device, uint64_t total, uint64_t idle);
FAKEACL_API void fakeacl_set_run_mode(int32_t mode);
FAKEACL_API void fakeacl_set_prefer_modeldef(int32_t on);
FAKEACL_API int fakeacl_fail(const char *func, int code, int after_n_calls);
FAKEACL_API const void *fakeacl_last_model_ptr(void);
FAKEACL_API size_t fakeacl_last_model_size(void);
FAKEACL_API int fakeacl_last_priority(int32_t *priority);
FAKEACL_API uint32_t fakeacl_live_models(void);
FAKEACL_API uint32_t fakeacl_live_contexts(void);
FAKEACL_API uint32_t fakeacl_live_descs(void);
FAKEACL_API uint32_t fakeacl_live_config_handles(void);
FAKEACL_API int fakeacl_model_header(uint32_t model_id, uint32_t *version, uint32_t *model_num,
                                     char *platform_version, size_t platform_version_len);
FAKEACL_API size_t fakeacl_sizeof(const char *type_name);
/* execution: call counters (by ACL function name), copies by kind, the last copy, live objects */
FAKEACL_API uint64_t fakeacl_calls(const char *func);
FAKEACL_API uint64_t fakeacl_memcpy_calls(int32_t kind);
FAKEACL_API int32_t fakeacl_memcpy_at(uint32_t back, void **dst, const void **src, size_t *count);
FAKEACL_API uint32_t fakeacl_live_allocations(int32_t host);
FAKEACL_API uint32_t fakeacl_live_data_buffers(void);
FAKEACL_API uint32_t fakeacl_live_datasets(void);
FAKEACL_API uint32_t fakeacl_live_streams(void);
FAKEACL_API uint32_t fakeacl_live_tensor_descs(void);

#endif
