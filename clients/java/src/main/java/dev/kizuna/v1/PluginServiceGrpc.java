package dev.kizuna.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * PluginService lists the plugins this daemon loaded and calls their local commands: what a
 * plugin offers the apps and the person on its own device (`kizuna texts` reads the text
 * plugin's inbox through it). What a plugin offers peers are commands in CommandService.
 * </pre>
 */
@io.grpc.stub.annotations.GrpcGenerated
public final class PluginServiceGrpc {

  private PluginServiceGrpc() {}

  public static final java.lang.String SERVICE_NAME = "kizuna.v1.PluginService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<dev.kizuna.v1.ListPluginsRequest,
      dev.kizuna.v1.ListPluginsResponse> getListPluginsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListPlugins",
      requestType = dev.kizuna.v1.ListPluginsRequest.class,
      responseType = dev.kizuna.v1.ListPluginsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.kizuna.v1.ListPluginsRequest,
      dev.kizuna.v1.ListPluginsResponse> getListPluginsMethod() {
    io.grpc.MethodDescriptor<dev.kizuna.v1.ListPluginsRequest, dev.kizuna.v1.ListPluginsResponse> getListPluginsMethod;
    if ((getListPluginsMethod = PluginServiceGrpc.getListPluginsMethod) == null) {
      synchronized (PluginServiceGrpc.class) {
        if ((getListPluginsMethod = PluginServiceGrpc.getListPluginsMethod) == null) {
          PluginServiceGrpc.getListPluginsMethod = getListPluginsMethod =
              io.grpc.MethodDescriptor.<dev.kizuna.v1.ListPluginsRequest, dev.kizuna.v1.ListPluginsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListPlugins"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.ListPluginsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.ListPluginsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new PluginServiceMethodDescriptorSupplier("ListPlugins"))
              .build();
        }
      }
    }
    return getListPluginsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.kizuna.v1.CallPluginRequest,
      dev.kizuna.v1.CallPluginResponse> getCallPluginMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "CallPlugin",
      requestType = dev.kizuna.v1.CallPluginRequest.class,
      responseType = dev.kizuna.v1.CallPluginResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.kizuna.v1.CallPluginRequest,
      dev.kizuna.v1.CallPluginResponse> getCallPluginMethod() {
    io.grpc.MethodDescriptor<dev.kizuna.v1.CallPluginRequest, dev.kizuna.v1.CallPluginResponse> getCallPluginMethod;
    if ((getCallPluginMethod = PluginServiceGrpc.getCallPluginMethod) == null) {
      synchronized (PluginServiceGrpc.class) {
        if ((getCallPluginMethod = PluginServiceGrpc.getCallPluginMethod) == null) {
          PluginServiceGrpc.getCallPluginMethod = getCallPluginMethod =
              io.grpc.MethodDescriptor.<dev.kizuna.v1.CallPluginRequest, dev.kizuna.v1.CallPluginResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "CallPlugin"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.CallPluginRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.CallPluginResponse.getDefaultInstance()))
              .setSchemaDescriptor(new PluginServiceMethodDescriptorSupplier("CallPlugin"))
              .build();
        }
      }
    }
    return getCallPluginMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static PluginServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<PluginServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<PluginServiceStub>() {
        @java.lang.Override
        public PluginServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new PluginServiceStub(channel, callOptions);
        }
      };
    return PluginServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports all types of calls on the service
   */
  public static PluginServiceBlockingV2Stub newBlockingV2Stub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<PluginServiceBlockingV2Stub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<PluginServiceBlockingV2Stub>() {
        @java.lang.Override
        public PluginServiceBlockingV2Stub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new PluginServiceBlockingV2Stub(channel, callOptions);
        }
      };
    return PluginServiceBlockingV2Stub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static PluginServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<PluginServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<PluginServiceBlockingStub>() {
        @java.lang.Override
        public PluginServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new PluginServiceBlockingStub(channel, callOptions);
        }
      };
    return PluginServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static PluginServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<PluginServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<PluginServiceFutureStub>() {
        @java.lang.Override
        public PluginServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new PluginServiceFutureStub(channel, callOptions);
        }
      };
    return PluginServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * PluginService lists the plugins this daemon loaded and calls their local commands: what a
   * plugin offers the apps and the person on its own device (`kizuna texts` reads the text
   * plugin's inbox through it). What a plugin offers peers are commands in CommandService.
   * </pre>
   */
  public interface AsyncService {

    /**
     * <pre>
     * Lists the plugins this daemon knows: loaded, failed or disabled.
     * </pre>
     */
    default void listPlugins(dev.kizuna.v1.ListPluginsRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.ListPluginsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListPluginsMethod(), responseObserver);
    }

    /**
     * <pre>
     * Calls a plugin's local command.
     * Errors: PLUGIN_NOT_FOUND, PLUGIN_FAILED (the plugin raised, timed out or is not running),
     * COMMAND_NOT_ALLOWED (no such local command), COMMAND_ARGUMENTS_INVALID.
     * </pre>
     */
    default void callPlugin(dev.kizuna.v1.CallPluginRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.CallPluginResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getCallPluginMethod(), responseObserver);
    }
  }

  /**
   * Base class for the server implementation of the service PluginService.
   * <pre>
   * PluginService lists the plugins this daemon loaded and calls their local commands: what a
   * plugin offers the apps and the person on its own device (`kizuna texts` reads the text
   * plugin's inbox through it). What a plugin offers peers are commands in CommandService.
   * </pre>
   */
  public static abstract class PluginServiceImplBase
      implements io.grpc.BindableService, AsyncService {

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return PluginServiceGrpc.bindService(this);
    }
  }

  /**
   * A stub to allow clients to do asynchronous rpc calls to service PluginService.
   * <pre>
   * PluginService lists the plugins this daemon loaded and calls their local commands: what a
   * plugin offers the apps and the person on its own device (`kizuna texts` reads the text
   * plugin's inbox through it). What a plugin offers peers are commands in CommandService.
   * </pre>
   */
  public static final class PluginServiceStub
      extends io.grpc.stub.AbstractAsyncStub<PluginServiceStub> {
    private PluginServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected PluginServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new PluginServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * Lists the plugins this daemon knows: loaded, failed or disabled.
     * </pre>
     */
    public void listPlugins(dev.kizuna.v1.ListPluginsRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.ListPluginsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListPluginsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Calls a plugin's local command.
     * Errors: PLUGIN_NOT_FOUND, PLUGIN_FAILED (the plugin raised, timed out or is not running),
     * COMMAND_NOT_ALLOWED (no such local command), COMMAND_ARGUMENTS_INVALID.
     * </pre>
     */
    public void callPlugin(dev.kizuna.v1.CallPluginRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.CallPluginResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getCallPluginMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * A stub to allow clients to do synchronous rpc calls to service PluginService.
   * <pre>
   * PluginService lists the plugins this daemon loaded and calls their local commands: what a
   * plugin offers the apps and the person on its own device (`kizuna texts` reads the text
   * plugin's inbox through it). What a plugin offers peers are commands in CommandService.
   * </pre>
   */
  public static final class PluginServiceBlockingV2Stub
      extends io.grpc.stub.AbstractBlockingStub<PluginServiceBlockingV2Stub> {
    private PluginServiceBlockingV2Stub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected PluginServiceBlockingV2Stub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new PluginServiceBlockingV2Stub(channel, callOptions);
    }

    /**
     * <pre>
     * Lists the plugins this daemon knows: loaded, failed or disabled.
     * </pre>
     */
    public dev.kizuna.v1.ListPluginsResponse listPlugins(dev.kizuna.v1.ListPluginsRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getListPluginsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Calls a plugin's local command.
     * Errors: PLUGIN_NOT_FOUND, PLUGIN_FAILED (the plugin raised, timed out or is not running),
     * COMMAND_NOT_ALLOWED (no such local command), COMMAND_ARGUMENTS_INVALID.
     * </pre>
     */
    public dev.kizuna.v1.CallPluginResponse callPlugin(dev.kizuna.v1.CallPluginRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getCallPluginMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do limited synchronous rpc calls to service PluginService.
   * <pre>
   * PluginService lists the plugins this daemon loaded and calls their local commands: what a
   * plugin offers the apps and the person on its own device (`kizuna texts` reads the text
   * plugin's inbox through it). What a plugin offers peers are commands in CommandService.
   * </pre>
   */
  public static final class PluginServiceBlockingStub
      extends io.grpc.stub.AbstractBlockingStub<PluginServiceBlockingStub> {
    private PluginServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected PluginServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new PluginServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * Lists the plugins this daemon knows: loaded, failed or disabled.
     * </pre>
     */
    public dev.kizuna.v1.ListPluginsResponse listPlugins(dev.kizuna.v1.ListPluginsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListPluginsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Calls a plugin's local command.
     * Errors: PLUGIN_NOT_FOUND, PLUGIN_FAILED (the plugin raised, timed out or is not running),
     * COMMAND_NOT_ALLOWED (no such local command), COMMAND_ARGUMENTS_INVALID.
     * </pre>
     */
    public dev.kizuna.v1.CallPluginResponse callPlugin(dev.kizuna.v1.CallPluginRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getCallPluginMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do ListenableFuture-style rpc calls to service PluginService.
   * <pre>
   * PluginService lists the plugins this daemon loaded and calls their local commands: what a
   * plugin offers the apps and the person on its own device (`kizuna texts` reads the text
   * plugin's inbox through it). What a plugin offers peers are commands in CommandService.
   * </pre>
   */
  public static final class PluginServiceFutureStub
      extends io.grpc.stub.AbstractFutureStub<PluginServiceFutureStub> {
    private PluginServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected PluginServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new PluginServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * Lists the plugins this daemon knows: loaded, failed or disabled.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.kizuna.v1.ListPluginsResponse> listPlugins(
        dev.kizuna.v1.ListPluginsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListPluginsMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Calls a plugin's local command.
     * Errors: PLUGIN_NOT_FOUND, PLUGIN_FAILED (the plugin raised, timed out or is not running),
     * COMMAND_NOT_ALLOWED (no such local command), COMMAND_ARGUMENTS_INVALID.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.kizuna.v1.CallPluginResponse> callPlugin(
        dev.kizuna.v1.CallPluginRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getCallPluginMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_LIST_PLUGINS = 0;
  private static final int METHODID_CALL_PLUGIN = 1;

  private static final class MethodHandlers<Req, Resp> implements
      io.grpc.stub.ServerCalls.UnaryMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ServerStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ClientStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.BidiStreamingMethod<Req, Resp> {
    private final AsyncService serviceImpl;
    private final int methodId;

    MethodHandlers(AsyncService serviceImpl, int methodId) {
      this.serviceImpl = serviceImpl;
      this.methodId = methodId;
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public void invoke(Req request, io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        case METHODID_LIST_PLUGINS:
          serviceImpl.listPlugins((dev.kizuna.v1.ListPluginsRequest) request,
              (io.grpc.stub.StreamObserver<dev.kizuna.v1.ListPluginsResponse>) responseObserver);
          break;
        case METHODID_CALL_PLUGIN:
          serviceImpl.callPlugin((dev.kizuna.v1.CallPluginRequest) request,
              (io.grpc.stub.StreamObserver<dev.kizuna.v1.CallPluginResponse>) responseObserver);
          break;
        default:
          throw new AssertionError();
      }
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public io.grpc.stub.StreamObserver<Req> invoke(
        io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        default:
          throw new AssertionError();
      }
    }
  }

  public static final io.grpc.ServerServiceDefinition bindService(AsyncService service) {
    return io.grpc.ServerServiceDefinition.builder(getServiceDescriptor())
        .addMethod(
          getListPluginsMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.kizuna.v1.ListPluginsRequest,
              dev.kizuna.v1.ListPluginsResponse>(
                service, METHODID_LIST_PLUGINS)))
        .addMethod(
          getCallPluginMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.kizuna.v1.CallPluginRequest,
              dev.kizuna.v1.CallPluginResponse>(
                service, METHODID_CALL_PLUGIN)))
        .build();
  }

  private static abstract class PluginServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    PluginServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return dev.kizuna.v1.PluginServiceProto.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("PluginService");
    }
  }

  private static final class PluginServiceFileDescriptorSupplier
      extends PluginServiceBaseDescriptorSupplier {
    PluginServiceFileDescriptorSupplier() {}
  }

  private static final class PluginServiceMethodDescriptorSupplier
      extends PluginServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final java.lang.String methodName;

    PluginServiceMethodDescriptorSupplier(java.lang.String methodName) {
      this.methodName = methodName;
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.MethodDescriptor getMethodDescriptor() {
      return getServiceDescriptor().findMethodByName(methodName);
    }
  }

  private static volatile io.grpc.ServiceDescriptor serviceDescriptor;

  public static io.grpc.ServiceDescriptor getServiceDescriptor() {
    io.grpc.ServiceDescriptor result = serviceDescriptor;
    if (result == null) {
      synchronized (PluginServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new PluginServiceFileDescriptorSupplier())
              .addMethod(getListPluginsMethod())
              .addMethod(getCallPluginMethod())
              .build();
        }
      }
    }
    return result;
  }
}
