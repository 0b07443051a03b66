/**
 * The Coplan client for Android (API level 26+): a Java library over JNI on the client
 * core's C ABI (libcoplan.so). Start with {@link app.coplan.mobile.CoplanClient}.
 *
 * <p>Nullability: every parameter and return value is non-null unless marked {@code
 * @Nullable} (JSR-305's {@code javax.annotation} annotations, which Kotlin reads as
 * nullable and non-null types).
 */
@ParametersAreNonnullByDefault
package app.coplan.mobile;

import javax.annotation.ParametersAreNonnullByDefault;
