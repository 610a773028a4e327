/* array: ARRAY_SIZE, the number of elements of an array */
#pragma once

/* The number of elements of the array a. Given a pointer it is an error (-Wsizeof-pointer-div, in -Wall). */
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
