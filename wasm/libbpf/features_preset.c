/* libbpf's feature probes (features.c) compiled as part of this translation unit, so that
 * the virtual kernel can preset libbpf's private feature cache from a feature profile
 * instead of probing: the probes would otherwise load test programs into the kernel. */
#include "features.c"

#include "feat_names.h" /* generated from libbpf_internal.h's enum kern_feature_id */

int vk_feature_count(void)
{
	return __FEAT_CNT;
}

const char *vk_feature_name(int id)
{
	static const char *const names[] = { COREBPF_FEAT_NAMES };

	_Static_assert(sizeof(names) / sizeof(names[0]) == __FEAT_CNT, "feature list out of date");
	return id >= 0 && id < __FEAT_CNT ? names[id] : NULL;
}

const char *vk_feature_desc(int id)
{
	return id >= 0 && id < __FEAT_CNT ? feature_probes[id].desc : NULL;
}

/* profile[i]: 1 = supported, 2 = missing (libbpf's enum kern_feature_result) */
void vk_feature_preset(const unsigned char *profile)
{
	int i;

	for (i = 0; i < __FEAT_CNT; i++)
		feature_cache.res[i] = profile[i] == FEAT_MISSING ? FEAT_MISSING : FEAT_SUPPORTED;
}
