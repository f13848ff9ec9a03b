package dev.grid.sim;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.core.domain.JavaFieldAccess;
import com.tngtech.archunit.core.domain.JavaMethod;
import com.tngtech.archunit.core.domain.JavaModifier;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.SimpleConditionEvent;
import com.tngtech.archunit.library.dependencies.SliceAssignment;
import com.tngtech.archunit.library.dependencies.SliceIdentifier;
import dev.grid.archfixture.UsesCoreInternals;
import dev.grid.client.archfixture.UsesAgrona;
import dev.grid.core.codec.MalformedMessageException;
import dev.grid.core.archfixture.NondeterministicFixture;
import dev.grid.core.archfixture.cycle.left.Left;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.Timer;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ThreadFactory;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.methods;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The architecture rules of DESIGN.md and STYLE.md, checked on the production classes of every module grid-sim sees
 * (the module dependency rules are also enforced by Maven's enforcer in each module's pom).
 */
class ArchitectureTest
{
    private static final JavaClasses PRODUCTION = new ClassFileImporter()
        .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
        .withImportOption(location -> !location.contains("-tests.jar"))
        .importPackages("dev.grid");

    /** Protocol code takes time, randomness, threads and sleeps only through the injected interfaces. */
    static final ArchRule NO_NONDETERMINISM_IN_CORE_AND_TX = noClasses()
        .that().resideInAnyPackage("dev.grid.core..", "dev.grid.tx..")
        .should().callMethod(System.class, "nanoTime")
        .orShould().callMethod(System.class, "currentTimeMillis")
        .orShould().callMethod(Thread.class, "sleep", long.class)
        .orShould().callMethod(Thread.class, "sleep", long.class, int.class)
        .orShould().callMethod(Math.class, "random")
        .orShould().callMethod(UUID.class, "randomUUID")
        .orShould().callMethod(Instant.class, "now")
        .orShould().callConstructor(SplittableRandom.class)
        .orShould().dependOnClassesThat().areAssignableTo(java.util.Random.class)
        .orShould().dependOnClassesThat().areAssignableTo(Thread.class)
        .orShould().dependOnClassesThat().belongToAnyOf(Executors.class, ExecutorService.class, ForkJoinPool.class,
            Timer.class, java.time.Clock.class)
        .because("grid-core and grid-tx are deterministic state machines (STYLE.md 2)");

    /**
     * No executor with a finalizer: {@code Executors.newSingleThreadExecutor}'s wrapper has one, so whatever the pool
     * reaches (its thread factory, its queued tasks) outlives a close by one more collection. A member's snapshot pool
     * kept a closed member and all its entries alive that way (docs/benchmarks.md, "A closed member was kept alive").
     */
    static final ArchRule NO_FINALIZABLE_EXECUTORS = noClasses()
        .should().callMethod(Executors.class, "newSingleThreadExecutor")
        .orShould().callMethod(Executors.class, "newSingleThreadExecutor", ThreadFactory.class)
        .because("a finalizer keeps what the executor reaches alive past its close; use a ThreadPoolExecutor");

    /** Modules depend one way, and so do the packages of grid-core (its API, SPIs and internals). */
    static final ArchRule NO_MODULE_CYCLES = slices().matching("dev.grid.(*)..").should().beFreeOfCycles()
        .because("DESIGN.md: arrows point one way, no cycles");
    static final ArchRule NO_PACKAGE_CYCLES_IN_CORE = slices().assignedFrom(new SliceAssignment()
    {
        @Override
        public SliceIdentifier getIdentifierOf(final JavaClass javaClass)
        {
            // Every package of grid-core is a slice, dev.grid.core itself included.
            return javaClass.getPackageName().startsWith("dev.grid.core") ?
                SliceIdentifier.of(javaClass.getPackageName()) : SliceIdentifier.ignore();
        }

        @Override
        public String getDescription()
        {
            return "the packages of grid-core";
        }
    }).should().beFreeOfCycles().because("DESIGN.md: arrows point one way, no cycles");

    @Test
    void modulesAndThePackagesOfCoreFormNoCycles()
    {
        NO_MODULE_CYCLES.check(PRODUCTION);
        NO_PACKAGE_CYCLES_IN_CORE.check(PRODUCTION);
    }

    @Test
    void theCycleRuleCatchesACycle()
    {
        final JavaClasses fixture = new ClassFileImporter().importPackagesOf(Left.class,
            dev.grid.core.archfixture.cycle.right.Right.class);
        final String report = NO_PACKAGE_CYCLES_IN_CORE.evaluate(fixture).getFailureReport().toString();
        assertTrue(report.contains("Cycle detected"), report);
        assertTrue(report.contains("Left") && report.contains("Right"), report);
    }

    /**
     * Other modules use grid-core's public API, its engine interfaces ({@code dev.grid.core.engine}, made by
     * {@code dev.grid.core.member.Members}) and SPIs, not its internals.
     */
    static final ArchRule NO_INTERNALS_OF_CORE_OUTSIDE_CORE = noClasses()
        .that().resideOutsideOfPackage("dev.grid.core..")
        .should().dependOnClassesThat().resideInAPackage("dev.grid.core.internal..")
        .because("DESIGN.md: everything but the public API and SPIs is internal, which no other module imports");

    /** Public methods of public API types name no internal type. */
    static final ArchRule NO_INTERNAL_TYPES_IN_PUBLIC_SIGNATURES = methods()
        .that().arePublic().and().areDeclaredInClassesThat().arePublic()
        .and().areDeclaredInClassesThat().resideOutsideOfPackage("..internal..")
        .should(new ArchCondition<JavaMethod>("name no internal type in their signature")
        {
            @Override
            public void check(final JavaMethod method, final ConditionEvents events)
            {
                final List<JavaClass> types = new ArrayList<>(method.getRawParameterTypes());
                types.add(method.getRawReturnType());
                for (final JavaClass type : types)
                {
                    if (type.getPackageName().contains(".internal"))
                    {
                        events.add(SimpleConditionEvent.violated(method, method.getFullName() + " names " +
                            type.getName()));
                    }
                }
            }
        });

    @Test
    void otherModulesUseNoInternalsOfCore()
    {
        NO_INTERNALS_OF_CORE_OUTSIDE_CORE.check(PRODUCTION);
    }

    @Test
    void publicSignaturesNameNoInternalTypes()
    {
        NO_INTERNAL_TYPES_IN_PUBLIC_SIGNATURES.check(PRODUCTION);
    }

    @Test
    void theInternalsRulesCatchAPlantedUse()
    {
        final JavaClasses fixture = new ClassFileImporter().importClasses(UsesCoreInternals.class);
        final String uses = NO_INTERNALS_OF_CORE_OUTSIDE_CORE.evaluate(fixture).getFailureReport().toString();
        assertTrue(uses.contains("CounterRange"), uses);
        final String signatures = NO_INTERNAL_TYPES_IN_PUBLIC_SIGNATURES.evaluate(fixture).getFailureReport()
            .toString();
        assertTrue(signatures.contains("UsesCoreInternals.range() names"), signatures);
    }

    @Test
    void noExecutorHasAFinalizer()
    {
        NO_FINALIZABLE_EXECUTORS.check(PRODUCTION);
    }

    @Test
    void theFinalizableExecutorRuleCatchesAUse()
    {
        final JavaClasses fixture = new ClassFileImporter().importClasses(FinalizableExecutorFixture.class);
        final String report = NO_FINALIZABLE_EXECUTORS.evaluate(fixture).getFailureReport().toString();
        assertTrue(report.contains("newSingleThreadExecutor"), report);
    }

    /** Planted: makes a single-thread executor through the factory method whose wrapper has a finalizer. */
    static final class FinalizableExecutorFixture
    {
        ExecutorService make()
        {
            return Executors.newSingleThreadExecutor();
        }
    }

    @Test
    void coreAndTxUseNoClockRandomnessThreadsOrSleeps()
    {
        NO_NONDETERMINISM_IN_CORE_AND_TX.check(PRODUCTION);
    }

    @Test
    void theNondeterminismRuleCatchesViolations()
    {
        final JavaClasses fixture = new ClassFileImporter().importClasses(NondeterministicFixture.class);
        final String report = NO_NONDETERMINISM_IN_CORE_AND_TX.evaluate(fixture).getFailureReport().toString();
        assertTrue(report.contains("System.nanoTime"), report);
        assertTrue(report.contains("java.util.Random"), report);
        assertTrue(report.contains("Thread.sleep"), report);
    }

    /** tx, persistence and net hold no classes until their issues land, hence allowEmptyShould on their rules. */
    @Test
    void modulesDependOnlyInTheDirectionsOfTheDesign()
    {
        noClasses().that().resideInAPackage("dev.grid.core..")
            .should().dependOnClassesThat().resideInAnyPackage("dev.grid.tx..", "dev.grid.persistence..",
                "dev.grid.net..", "dev.grid.node..", "dev.grid.sim..", "io.aeron..", "net.openhft.chronicle..")
            .check(PRODUCTION);
        noClasses().that().resideInAPackage("dev.grid.tx..")
            .should().dependOnClassesThat().resideInAnyPackage("dev.grid.persistence..", "dev.grid.net..",
                "dev.grid.node..", "dev.grid.sim..")
            .allowEmptyShould(true)
            .check(PRODUCTION);
        noClasses().that().resideInAPackage("dev.grid.persistence..")
            .should().dependOnClassesThat().resideInAnyPackage("dev.grid.tx..", "dev.grid.net..", "dev.grid.node..")
            .allowEmptyShould(true)
            .check(PRODUCTION);
        noClasses().that().resideInAPackage("dev.grid.net..")
            .should().dependOnClassesThat().resideInAnyPackage("dev.grid.tx..", "dev.grid.persistence..",
                "dev.grid.node..")
            .allowEmptyShould(true)
            .check(PRODUCTION);
    }

    private static final String CLUSTER = "dev.grid.core.internal.cluster.";

    /**
     * The components of a member's engine (see {@code MemberContext}): each owns its fields. Another class calls its
     * methods; it never reads or writes its fields (nested classes are their top-level class's own).
     */
    static final Set<String> COMPONENTS = Set.of("Membership", "Joining", "Exchange", "ExchangePlanner", "NearOps",
        "Replication", "Rebalancer", "RebalancedCopies", "Checkpointer", "Recovery", "ConsistencyChecker", "CacheAdmin",
        "Origins", "Durability", "Tombstones", "WalRecords", "KeyOperations", "Expirations", "Evictions",
        "HeldJournalReads", "MemberContext", "MemberEngine");

    static final ArchRule COMPONENTS_SHARE_A_CONTEXT_NOT_FIELDS = classes()
        .that().resideInAPackage("dev.grid.core..")
        .should(new ArchCondition<JavaClass>("touch no field of another component of the engine")
        {
            @Override
            public void check(final JavaClass origin, final ConditionEvents events)
            {
                for (final JavaFieldAccess access : origin.getFieldAccessesFromSelf())
                {
                    final JavaClass owner = topLevel(access.getTargetOwner());
                    final boolean constant = access.getTarget().resolveMember()
                        .map(field -> field.getModifiers().contains(JavaModifier.STATIC) &&
                            field.getModifiers().contains(JavaModifier.FINAL))
                        .orElse(false);
                    if (!constant && owner.getName().startsWith(CLUSTER) &&
                        COMPONENTS.contains(owner.getName().substring(CLUSTER.length())) &&
                        !owner.equals(topLevel(origin)))
                    {
                        events.add(SimpleConditionEvent.violated(access, access.getDescription()));
                    }
                }
            }
        })
        .because("DESIGN.md: the components share a narrow context instead of each other's fields");

    /** Only the engine's composition and its factory know the engine class: components hold the context. */
    static final ArchRule ONLY_THE_FACTORY_KNOWS_THE_ENGINE = noClasses()
        .that().doNotHaveFullyQualifiedName(CLUSTER + "MemberEngine")
        .and().doNotHaveFullyQualifiedName("dev.grid.core.member.Members")
        .and(DescribedPredicate.describe("are not nested in MemberEngine",
            (JavaClass c) -> !topLevel(c).getName().equals(CLUSTER + "MemberEngine")))
        .should().dependOnClassesThat().haveFullyQualifiedName(CLUSTER + "MemberEngine")
        .because("the components of the engine share MemberContext, not the engine that composes them");

    private static JavaClass topLevel(final JavaClass javaClass)
    {
        JavaClass top = javaClass;
        while (top.getEnclosingClass().isPresent())
        {
            top = top.getEnclosingClass().get();
        }
        return top;
    }

    @Test
    void theEnginesComponentsShareAContextNotEachOthersFields()
    {
        COMPONENTS_SHARE_A_CONTEXT_NOT_FIELDS.check(PRODUCTION);
        ONLY_THE_FACTORY_KNOWS_THE_ENGINE.check(PRODUCTION);
    }

    @Test
    void theComponentRulesCatchAPlantedReach()
    {
        final JavaClasses fixture = new ClassFileImporter().importPackages("dev.grid.core.internal.cluster")
            .that(DescribedPredicate.describe("the planted reach", (JavaClass c) ->
                c.getSimpleName().equals("ReachesIntoAComponent")));
        final String fields = COMPONENTS_SHARE_A_CONTEXT_NOT_FIELDS.evaluate(fixture).getFailureReport().toString();
        assertTrue(fields.contains("Checkpointer.nextCheckpointNs"), fields);
        final String engine = ONLY_THE_FACTORY_KNOWS_THE_ENGINE.evaluate(fixture).getFailureReport().toString();
        assertTrue(engine.contains("MemberEngine"), engine);
    }

    /** The thin client is the public API and the client protocol: no engine, codec of the members or Agrona. */
    static final ArchRule THIN_CLIENT_NEEDS_NO_MEMBER_CODE = noClasses().that().resideInAnyPackage("dev.grid.client..",
        "dev.grid.core.client..")
        .should().dependOnClassesThat().resideInAnyPackage("org.agrona..", "dev.grid.core.internal..",
            "dev.grid.core.engine..", "dev.grid.node..", "dev.grid.net..")
        .orShould().dependOnClassesThat(JavaClass.Predicates.resideInAPackage("dev.grid.core.codec..")
            .and(DescribedPredicate.not(JavaClass.Predicates.equivalentTo(MalformedMessageException.class))))
        .because("DESIGN.md: the thin client holds the public API and the client protocol only (no engine, no JVM "
            + "flags); MalformedMessageException is the one codec type it throws");

    @Test
    void theThinClientUsesTheApiAndTheClientProtocolOnly()
    {
        THIN_CLIENT_NEEDS_NO_MEMBER_CODE.check(PRODUCTION);
    }

    @Test
    void theThinClientRuleCatchesAgronaAndTheMembersCodec()
    {
        final JavaClasses fixture = new ClassFileImporter().importClasses(UsesAgrona.class);
        final String report = THIN_CLIENT_NEEDS_NO_MEMBER_CODE.evaluate(fixture).getFailureReport().toString();
        assertTrue(report.contains("org.agrona.concurrent.UnsafeBuffer"), report);
        assertTrue(report.contains("dev.grid.core.codec.MessageWriter"), report);
    }

    @Test
    void simulatedCodeUsesNoRealTransportOrLog()
    {
        noClasses().that().resideInAPackage("dev.grid.sim..")
            .should().dependOnClassesThat().resideInAnyPackage("io.aeron..", "net.openhft..")
            .because("the simulator runs the state machines over simulated network and WAL only")
            .check(PRODUCTION);
    }
}
