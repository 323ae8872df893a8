package dev.kizuna.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * NodeService describes this device's daemon and controls its lifecycle.
 * </pre>
 */
@io.grpc.stub.annotations.GrpcGenerated
public final class NodeServiceGrpc {

  private NodeServiceGrpc() {}

  public static final java.lang.String SERVICE_NAME = "kizuna.v1.NodeService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<dev.kizuna.v1.GetNodeRequest,
      dev.kizuna.v1.GetNodeResponse> getGetNodeMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetNode",
      requestType = dev.kizuna.v1.GetNodeRequest.class,
      responseType = dev.kizuna.v1.GetNodeResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.kizuna.v1.GetNodeRequest,
      dev.kizuna.v1.GetNodeResponse> getGetNodeMethod() {
    io.grpc.MethodDescriptor<dev.kizuna.v1.GetNodeRequest, dev.kizuna.v1.GetNodeResponse> getGetNodeMethod;
    if ((getGetNodeMethod = NodeServiceGrpc.getGetNodeMethod) == null) {
      synchronized (NodeServiceGrpc.class) {
        if ((getGetNodeMethod = NodeServiceGrpc.getGetNodeMethod) == null) {
          NodeServiceGrpc.getGetNodeMethod = getGetNodeMethod =
              io.grpc.MethodDescriptor.<dev.kizuna.v1.GetNodeRequest, dev.kizuna.v1.GetNodeResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetNode"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.GetNodeRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.GetNodeResponse.getDefaultInstance()))
              .setSchemaDescriptor(new NodeServiceMethodDescriptorSupplier("GetNode"))
              .build();
        }
      }
    }
    return getGetNodeMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.kizuna.v1.GetConfigRequest,
      dev.kizuna.v1.GetConfigResponse> getGetConfigMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetConfig",
      requestType = dev.kizuna.v1.GetConfigRequest.class,
      responseType = dev.kizuna.v1.GetConfigResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.kizuna.v1.GetConfigRequest,
      dev.kizuna.v1.GetConfigResponse> getGetConfigMethod() {
    io.grpc.MethodDescriptor<dev.kizuna.v1.GetConfigRequest, dev.kizuna.v1.GetConfigResponse> getGetConfigMethod;
    if ((getGetConfigMethod = NodeServiceGrpc.getGetConfigMethod) == null) {
      synchronized (NodeServiceGrpc.class) {
        if ((getGetConfigMethod = NodeServiceGrpc.getGetConfigMethod) == null) {
          NodeServiceGrpc.getGetConfigMethod = getGetConfigMethod =
              io.grpc.MethodDescriptor.<dev.kizuna.v1.GetConfigRequest, dev.kizuna.v1.GetConfigResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetConfig"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.GetConfigRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.GetConfigResponse.getDefaultInstance()))
              .setSchemaDescriptor(new NodeServiceMethodDescriptorSupplier("GetConfig"))
              .build();
        }
      }
    }
    return getGetConfigMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.kizuna.v1.ShutdownRequest,
      dev.kizuna.v1.ShutdownResponse> getShutdownMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "Shutdown",
      requestType = dev.kizuna.v1.ShutdownRequest.class,
      responseType = dev.kizuna.v1.ShutdownResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.kizuna.v1.ShutdownRequest,
      dev.kizuna.v1.ShutdownResponse> getShutdownMethod() {
    io.grpc.MethodDescriptor<dev.kizuna.v1.ShutdownRequest, dev.kizuna.v1.ShutdownResponse> getShutdownMethod;
    if ((getShutdownMethod = NodeServiceGrpc.getShutdownMethod) == null) {
      synchronized (NodeServiceGrpc.class) {
        if ((getShutdownMethod = NodeServiceGrpc.getShutdownMethod) == null) {
          NodeServiceGrpc.getShutdownMethod = getShutdownMethod =
              io.grpc.MethodDescriptor.<dev.kizuna.v1.ShutdownRequest, dev.kizuna.v1.ShutdownResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "Shutdown"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.ShutdownRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.kizuna.v1.ShutdownResponse.getDefaultInstance()))
              .setSchemaDescriptor(new NodeServiceMethodDescriptorSupplier("Shutdown"))
              .build();
        }
      }
    }
    return getShutdownMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static NodeServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<NodeServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<NodeServiceStub>() {
        @java.lang.Override
        public NodeServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new NodeServiceStub(channel, callOptions);
        }
      };
    return NodeServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports all types of calls on the service
   */
  public static NodeServiceBlockingV2Stub newBlockingV2Stub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<NodeServiceBlockingV2Stub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<NodeServiceBlockingV2Stub>() {
        @java.lang.Override
        public NodeServiceBlockingV2Stub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new NodeServiceBlockingV2Stub(channel, callOptions);
        }
      };
    return NodeServiceBlockingV2Stub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static NodeServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<NodeServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<NodeServiceBlockingStub>() {
        @java.lang.Override
        public NodeServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new NodeServiceBlockingStub(channel, callOptions);
        }
      };
    return NodeServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static NodeServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<NodeServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<NodeServiceFutureStub>() {
        @java.lang.Override
        public NodeServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new NodeServiceFutureStub(channel, callOptions);
        }
      };
    return NodeServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * NodeService describes this device's daemon and controls its lifecycle.
   * </pre>
   */
  public interface AsyncService {

    /**
     * <pre>
     * Returns this device: identity, version, listeners and subsystem states.
     * Errors: none beyond transport errors.
     * </pre>
     */
    default void getNode(dev.kizuna.v1.GetNodeRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.GetNodeResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetNodeMethod(), responseObserver);
    }

    /**
     * <pre>
     * Returns the effective configuration, with secrets referenced by path only.
     * Errors: none beyond transport errors.
     * </pre>
     */
    default void getConfig(dev.kizuna.v1.GetConfigRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.GetConfigResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetConfigMethod(), responseObserver);
    }

    /**
     * <pre>
     * Stops the daemon gracefully. The response is sent first; then new calls are refused with
     * SHUTTING_DOWN, event subscriptions end with status OK after a final node-state event,
     * in-flight calls get up to the grace period to finish (calls still running after it end with
     * SHUTTING_DOWN), and the process exits.
     * Errors: INVALID_ARGUMENT (grace out of range).
     * </pre>
     */
    default void shutdown(dev.kizuna.v1.ShutdownRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.ShutdownResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getShutdownMethod(), responseObserver);
    }
  }

  /**
   * Base class for the server implementation of the service NodeService.
   * <pre>
   * NodeService describes this device's daemon and controls its lifecycle.
   * </pre>
   */
  public static abstract class NodeServiceImplBase
      implements io.grpc.BindableService, AsyncService {

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return NodeServiceGrpc.bindService(this);
    }
  }

  /**
   * A stub to allow clients to do asynchronous rpc calls to service NodeService.
   * <pre>
   * NodeService describes this device's daemon and controls its lifecycle.
   * </pre>
   */
  public static final class NodeServiceStub
      extends io.grpc.stub.AbstractAsyncStub<NodeServiceStub> {
    private NodeServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected NodeServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new NodeServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * Returns this device: identity, version, listeners and subsystem states.
     * Errors: none beyond transport errors.
     * </pre>
     */
    public void getNode(dev.kizuna.v1.GetNodeRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.GetNodeResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetNodeMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Returns the effective configuration, with secrets referenced by path only.
     * Errors: none beyond transport errors.
     * </pre>
     */
    public void getConfig(dev.kizuna.v1.GetConfigRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.GetConfigResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetConfigMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Stops the daemon gracefully. The response is sent first; then new calls are refused with
     * SHUTTING_DOWN, event subscriptions end with status OK after a final node-state event,
     * in-flight calls get up to the grace period to finish (calls still running after it end with
     * SHUTTING_DOWN), and the process exits.
     * Errors: INVALID_ARGUMENT (grace out of range).
     * </pre>
     */
    public void shutdown(dev.kizuna.v1.ShutdownRequest request,
        io.grpc.stub.StreamObserver<dev.kizuna.v1.ShutdownResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getShutdownMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * A stub to allow clients to do synchronous rpc calls to service NodeService.
   * <pre>
   * NodeService describes this device's daemon and controls its lifecycle.
   * </pre>
   */
  public static final class NodeServiceBlockingV2Stub
      extends io.grpc.stub.AbstractBlockingStub<NodeServiceBlockingV2Stub> {
    private NodeServiceBlockingV2Stub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected NodeServiceBlockingV2Stub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new NodeServiceBlockingV2Stub(channel, callOptions);
    }

    /**
     * <pre>
     * Returns this device: identity, version, listeners and subsystem states.
     * Errors: none beyond transport errors.
     * </pre>
     */
    public dev.kizuna.v1.GetNodeResponse getNode(dev.kizuna.v1.GetNodeRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetNodeMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns the effective configuration, with secrets referenced by path only.
     * Errors: none beyond transport errors.
     * </pre>
     */
    public dev.kizuna.v1.GetConfigResponse getConfig(dev.kizuna.v1.GetConfigRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetConfigMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Stops the daemon gracefully. The response is sent first; then new calls are refused with
     * SHUTTING_DOWN, event subscriptions end with status OK after a final node-state event,
     * in-flight calls get up to the grace period to finish (calls still running after it end with
     * SHUTTING_DOWN), and the process exits.
     * Errors: INVALID_ARGUMENT (grace out of range).
     * </pre>
     */
    public dev.kizuna.v1.ShutdownResponse shutdown(dev.kizuna.v1.ShutdownRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getShutdownMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do limited synchronous rpc calls to service NodeService.
   * <pre>
   * NodeService describes this device's daemon and controls its lifecycle.
   * </pre>
   */
  public static final class NodeServiceBlockingStub
      extends io.grpc.stub.AbstractBlockingStub<NodeServiceBlockingStub> {
    private NodeServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected NodeServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new NodeServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * Returns this device: identity, version, listeners and subsystem states.
     * Errors: none beyond transport errors.
     * </pre>
     */
    public dev.kizuna.v1.GetNodeResponse getNode(dev.kizuna.v1.GetNodeRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetNodeMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns the effective configuration, with secrets referenced by path only.
     * Errors: none beyond transport errors.
     * </pre>
     */
    public dev.kizuna.v1.GetConfigResponse getConfig(dev.kizuna.v1.GetConfigRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetConfigMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Stops the daemon gracefully. The response is sent first; then new calls are refused with
     * SHUTTING_DOWN, event subscriptions end with status OK after a final node-state event,
     * in-flight calls get up to the grace period to finish (calls still running after it end with
     * SHUTTING_DOWN), and the process exits.
     * Errors: INVALID_ARGUMENT (grace out of range).
     * </pre>
     */
    public dev.kizuna.v1.ShutdownResponse shutdown(dev.kizuna.v1.ShutdownRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getShutdownMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do ListenableFuture-style rpc calls to service NodeService.
   * <pre>
   * NodeService describes this device's daemon and controls its lifecycle.
   * </pre>
   */
  public static final class NodeServiceFutureStub
      extends io.grpc.stub.AbstractFutureStub<NodeServiceFutureStub> {
    private NodeServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected NodeServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new NodeServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * Returns this device: identity, version, listeners and subsystem states.
     * Errors: none beyond transport errors.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.kizuna.v1.GetNodeResponse> getNode(
        dev.kizuna.v1.GetNodeRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetNodeMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Returns the effective configuration, with secrets referenced by path only.
     * Errors: none beyond transport errors.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.kizuna.v1.GetConfigResponse> getConfig(
        dev.kizuna.v1.GetConfigRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetConfigMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Stops the daemon gracefully. The response is sent first; then new calls are refused with
     * SHUTTING_DOWN, event subscriptions end with status OK after a final node-state event,
     * in-flight calls get up to the grace period to finish (calls still running after it end with
     * SHUTTING_DOWN), and the process exits.
     * Errors: INVALID_ARGUMENT (grace out of range).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.kizuna.v1.ShutdownResponse> shutdown(
        dev.kizuna.v1.ShutdownRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getShutdownMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_GET_NODE = 0;
  private static final int METHODID_GET_CONFIG = 1;
  private static final int METHODID_SHUTDOWN = 2;

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
        case METHODID_GET_NODE:
          serviceImpl.getNode((dev.kizuna.v1.GetNodeRequest) request,
              (io.grpc.stub.StreamObserver<dev.kizuna.v1.GetNodeResponse>) responseObserver);
          break;
        case METHODID_GET_CONFIG:
          serviceImpl.getConfig((dev.kizuna.v1.GetConfigRequest) request,
              (io.grpc.stub.StreamObserver<dev.kizuna.v1.GetConfigResponse>) responseObserver);
          break;
        case METHODID_SHUTDOWN:
          serviceImpl.shutdown((dev.kizuna.v1.ShutdownRequest) request,
              (io.grpc.stub.StreamObserver<dev.kizuna.v1.ShutdownResponse>) responseObserver);
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
          getGetNodeMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.kizuna.v1.GetNodeRequest,
              dev.kizuna.v1.GetNodeResponse>(
                service, METHODID_GET_NODE)))
        .addMethod(
          getGetConfigMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.kizuna.v1.GetConfigRequest,
              dev.kizuna.v1.GetConfigResponse>(
                service, METHODID_GET_CONFIG)))
        .addMethod(
          getShutdownMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.kizuna.v1.ShutdownRequest,
              dev.kizuna.v1.ShutdownResponse>(
                service, METHODID_SHUTDOWN)))
        .build();
  }

  private static abstract class NodeServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    NodeServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return dev.kizuna.v1.NodeServiceProto.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("NodeService");
    }
  }

  private static final class NodeServiceFileDescriptorSupplier
      extends NodeServiceBaseDescriptorSupplier {
    NodeServiceFileDescriptorSupplier() {}
  }

  private static final class NodeServiceMethodDescriptorSupplier
      extends NodeServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final java.lang.String methodName;

    NodeServiceMethodDescriptorSupplier(java.lang.String methodName) {
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
      synchronized (NodeServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new NodeServiceFileDescriptorSupplier())
              .addMethod(getGetNodeMethod())
              .addMethod(getGetConfigMethod())
              .addMethod(getShutdownMethod())
              .build();
        }
      }
    }
    return result;
  }
}
